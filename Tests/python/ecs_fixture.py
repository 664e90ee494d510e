"""ECS fixtures on moto_server for csvstorm's ECS tests (boto3: a client no one here wrote).

  ecs_fixture.py run ENDPOINT CLUSTER FAMILY KEY...   start one task per KEY (the object key in the
                                                      container override S3_KEY); print their ARNs
  ecs_fixture.py describe ENDPOINT CLUSTER ARN...     print each task's lastStatus, desiredStatus,
                                                      stopCode and stoppedReason

moto runs FARGATE tasks only with network settings it then fails to describe, so the tasks run on
the EC2 launch type: one EC2 instance registered as the cluster's container instance.
Output is one JSON document on stdout.
"""
import json
import sys

import boto3


def clients(endpoint):
    kw = dict(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
    return boto3.client("ec2", **kw), boto3.client("ecs", **kw)


def run(endpoint, cluster, family, keys):
    ec2, ecs = clients(endpoint)
    ecs.create_cluster(clusterName=cluster)
    if not ecs.list_container_instances(cluster=cluster)["containerInstanceArns"]:
        image = ec2.describe_images()["Images"][0]["ImageId"]
        instance = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1)["Instances"][0]
        ecs.register_container_instance(cluster=cluster, instanceIdentityDocument=json.dumps({"instanceId": instance["InstanceId"]}))
    ecs.register_task_definition(family=family, containerDefinitions=[{"name": "processor", "image": "csv-processor", "memory": 64, "cpu": 16}])
    arns = []
    for key in keys:
        answer = ecs.run_task(
            cluster=cluster, taskDefinition=family, count=1, launchType="EC2", startedBy="csvstorm-test",
            overrides={"containerOverrides": [{"name": "processor", "environment": [{"name": "S3_KEY", "value": key}]}]},
        )
        if answer["failures"]:
            raise SystemExit(f"run_task failed: {answer['failures']}")
        arns += [task["taskArn"] for task in answer["tasks"]]
    print(json.dumps(arns))


def describe(endpoint, cluster, arns):
    _, ecs = clients(endpoint)
    tasks = ecs.describe_tasks(cluster=cluster, tasks=arns)["tasks"]
    print(json.dumps({t["taskArn"]: {k: t.get(k) for k in ("lastStatus", "desiredStatus", "stopCode", "stoppedReason")} for t in tasks}))


if __name__ == "__main__":
    command, endpoint, cluster, *rest = sys.argv[1:]
    if command == "run":
        run(endpoint, cluster, rest[0], rest[1:])
    elif command == "describe":
        describe(endpoint, cluster, rest)
    else:
        raise SystemExit(f"unknown command {command!r}: run | describe")
