#!/usr/bin/env python3
"""The emulated pipeline through clients no one here wrote: awscli for S3, DynamoDB and SQS.

Run by EmulatorTests/PipelineRealClientTests.swift (and CommandTests for the restart cases),
which start the emulator with its pipeline, write the input CSVs into EMULATOR_WORKDIR, and
check what this script leaves in EMULATOR_WORKDIR/result.json (e.g. the downloaded output,
for the PII check with the dataset recipe, which is Swift code).

    python3 pipeline_clients.py CASE     # one of the functions named case_*

Exits 0 when every check of the case passed; prints what failed otherwise.
"""
import json
import os
import subprocess
import sys
import time
import urllib.request

ENDPOINT = os.environ["EMULATOR_ENDPOINT"]
WORK = os.environ.get("EMULATOR_WORKDIR", "/tmp")
TABLE = os.environ.get("EMULATOR_JOB_TABLE", "csvstorm-jobs")
QUEUE = os.environ.get("EMULATOR_RETRY_QUEUE", "csvstorm-retry")
FAILURES = []
RESULT = {}


def check(condition, what):
    if not condition:
        FAILURES.append(what)
        print("FAIL:", what, flush=True)


def aws(*args, expect_ok=True):
    command = ["aws", "--endpoint-url", ENDPOINT, "--output", "json", *args]
    if args[:2] == ("s3", "cp"):
        command.append("--no-progress")
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if expect_ok and result.returncode != 0:
        FAILURES.append(f"aws {' '.join(args)} exited {result.returncode}: {result.stderr.strip()}")
        print("FAIL:", FAILURES[-1], flush=True)
    return result


def aws_json(*args):
    result = aws(*args)
    return json.loads(result.stdout) if result.returncode == 0 and result.stdout.strip() else {}


def control(path):
    with urllib.request.urlopen(ENDPOINT + path, timeout=10) as response:
        return json.loads(response.read())


def scan_jobs():
    """Every ledger record, through `aws dynamodb scan` (which follows LastEvaluatedKey)."""
    return aws_json("dynamodb", "scan", "--table-name", TABLE, "--consistent-read").get("Items", [])


def wait_for_jobs(predicate, what, timeout=90):
    deadline = time.monotonic() + timeout
    items = []
    while time.monotonic() < deadline:
        items = scan_jobs()
        if predicate(items):
            return items
        time.sleep(0.25)
    check(False, f"{what} within {timeout}s; ledger: {json.dumps(items)[:2000]}")
    return items


def status(item):
    return item.get("status", {}).get("S")


def job_for(items, key):
    return next((i for i in items if i.get("key", {}).get("S") == key), None)


def case_happy():
    """aws s3 cp → get-item SUCCEEDED → download the output → deleting it is denied."""
    key = "incoming/customers.csv"
    aws("s3", "cp", f"{WORK}/customers.csv", f"s3://raw/{key}")
    items = wait_for_jobs(lambda items: (j := job_for(items, key)) is not None and status(j) != "RUNNING", "a terminal job")
    job = job_for(items, key)
    if job is None:
        return
    check(status(job) == "SUCCEEDED", f"job status {status(job)}: {job}")
    got = aws_json("dynamodb", "get-item", "--table-name", TABLE, "--key", json.dumps({"jobId": job["jobId"]}))
    item = got.get("Item", {})
    check(item.get("status", {}).get("S") == "SUCCEEDED", f"get-item: {got}")
    check(item.get("attempts", {}).get("N") == "1", f"attempts: {item.get('attempts')}")
    check("ttl" in item and int(item["ttl"]["N"]) > time.time(), f"ttl in the future: {item.get('ttl')}")
    location = item.get("outputLocation", {}).get("S", "")
    check(location.startswith("s3://processed/incoming/customers.") and location.endswith(".csv"), f"outputLocation {location}")
    output = f"{WORK}/output.csv"
    aws("s3", "cp", location, output)
    RESULT["output"] = output
    bucket, out_key = location[len("s3://"):].split("/", 1)
    head = aws_json("s3api", "head-object", "--bucket", bucket, "--key", out_key)
    check(head.get("ObjectLockMode") == "COMPLIANCE", f"processed output is locked: {head}")
    denied = aws("s3api", "delete-object", "--bucket", bucket, "--key", out_key, "--version-id", head.get("VersionId", ""), expect_ok=False)
    check(denied.returncode != 0 and "AccessDenied" in denied.stderr, f"deleting a processed version is denied: {denied.stderr}")
    table = aws_json("dynamodb", "describe-table", "--table-name", TABLE).get("Table", {})
    check(table.get("KeySchema") == [{"AttributeName": "jobId", "KeyType": "HASH"}], f"describe-table: {table}")


def case_malformed():
    """A malformed file ends FAILED, with the input in the failed bucket."""
    key = "incoming/broken.csv"
    aws("s3", "cp", f"{WORK}/malformed.csv", f"s3://raw/{key}")
    items = wait_for_jobs(lambda items: (j := job_for(items, key)) is not None and status(j) != "RUNNING", "a terminal job")
    job = job_for(items, key)
    if job is None:
        return
    check(status(job) == "FAILED", f"job status {status(job)}")
    check("wrong-column-count" in job.get("cause", {}).get("S", ""), f"cause names the defect: {job.get('cause')}")
    listing = aws_json("s3api", "list-objects-v2", "--bucket", "failed", "--prefix", "incoming/broken.")
    keys = sorted(o["Key"] for o in listing.get("Contents", []))
    check(len(keys) == 2 and keys[0].endswith(".csv") and keys[1].endswith(".error.json"), f"failed bucket: {keys}")
    if keys:
        aws("s3", "cp", f"s3://failed/{keys[0]}", f"{WORK}/rejected.csv")
        with open(f"{WORK}/rejected.csv", "rb") as got, open(f"{WORK}/malformed.csv", "rb") as sent:
            check(got.read() == sent.read(), "the failed bucket holds the input unchanged")
    processed = aws_json("s3api", "list-objects-v2", "--bucket", "processed", "--prefix", "incoming/broken.")
    check(not processed.get("Contents"), f"nothing in processed: {processed}")


def case_dead_letter():
    """The emulator's rule target fails: aws sqs receive-message sees the dead-lettered event."""
    key = "incoming/undeliverable.csv"
    aws("s3", "cp", f"{WORK}/customers.csv", f"s3://raw/{key}")
    url = aws_json("sqs", "get-queue-url", "--queue-name", QUEUE).get("QueueUrl", "")
    check(url.endswith("/" + QUEUE), f"queue url {url}")
    messages = []
    deadline = time.monotonic() + 60
    while not messages and time.monotonic() < deadline:
        messages = aws_json("sqs", "receive-message", "--queue-url", url, "--message-attribute-names", "All",
                            "--attribute-names", "All", "--wait-time-seconds", "2", "--max-number-of-messages", "10").get("Messages", [])
    check(len(messages) == 1, f"one dead-lettered message: {messages}")
    if not messages:
        return
    message = messages[0]
    attributes = {k: v.get("StringValue") for k, v in message.get("MessageAttributes", {}).items()}
    for name in ["RULE_ARN", "TARGET_ARN", "ERROR_CODE", "ERROR_MESSAGE", "EXHAUSTED_RETRY_CONDITION", "RETRY_ATTEMPTS"]:
        check(name in attributes, f"attribute {name} in {attributes}")
    check(attributes.get("EXHAUSTED_RETRY_CONDITION") == "MaximumRetryAttempts", f"{attributes}")
    event = json.loads(message["Body"])
    check(event.get("detail", {}).get("object", {}).get("key") == key, f"the body is the event: {message['Body'][:300]}")
    check(event.get("detail-type") == "Object Created", f"detail-type: {event.get('detail-type')}")
    attrs = aws_json("sqs", "get-queue-attributes", "--queue-url", url, "--attribute-names", "All").get("Attributes", {})
    check(attrs.get("ApproximateNumberOfMessagesNotVisible") == "1", f"the received message is in flight: {attrs}")
    check(not job_for(scan_jobs(), key), "no job was started for an undelivered event")


def case_duplicate():
    """Every event delivered twice: exactly one ledger record, SUCCEEDED, and two executions."""
    key = "incoming/twice.csv"
    aws("s3", "cp", f"{WORK}/customers.csv", f"s3://raw/{key}")
    wait_for_jobs(lambda items: (j := job_for(items, key)) is not None and status(j) != "RUNNING", "a terminal job")
    deadline = time.monotonic() + 30
    executions = []
    while time.monotonic() < deadline:
        executions = control("/_csvstorm/executions")["executions"]
        if len(executions) == 2 and all(e["status"] != "RUNNING" for e in executions):
            break
        time.sleep(0.2)
    check(sorted(e.get("result") for e in executions) == ["DUPLICATE", "SUCCEEDED"], f"executions: {executions}")
    items = [i for i in scan_jobs() if i.get("key", {}).get("S") == key]
    check(len(items) == 1 and status(items[0]) == "SUCCEEDED", f"one completed job: {items}")


def case_restart_prepare():
    """Uploads files, waits until tasks run, then kill -9 the emulator mid-run."""
    for i in range(3):
        aws("s3", "cp", f"{WORK}/customers.csv", f"s3://raw/restart/{i}.csv")
    deadline = time.monotonic() + 30
    health = {}
    while time.monotonic() < deadline:
        health = control("/_csvstorm/health")
        if health["executions"]["RUNNING"] == 3 and health["tasksRunning"] >= 1:
            break
        time.sleep(0.05)
    check(health.get("executions", {}).get("RUNNING") == 3, f"three executions in flight before the kill: {health}")
    RESULT["before"] = health
    os.kill(int(os.environ["EMULATOR_PID"]), 9)


def case_restart_verify():
    """After the restart: no execution vanished; every job ends SUCCEEDED, some resumed."""
    items = wait_for_jobs(lambda items: len(items) == 3 and all(status(i) != "RUNNING" for i in items), "three terminal jobs")
    check(sorted(status(i) for i in items) == ["SUCCEEDED"] * 3, f"all succeeded: {[status(i) for i in items]}")
    executions = control("/_csvstorm/executions")["executions"]
    check(len(executions) == 3, f"exactly the three executions: {executions}")
    resumed = 0
    for execution in executions:
        detail = control("/_csvstorm/executions/" + execution["executionId"])
        types = [h["type"] for h in detail["history"]]
        if "ExecutionResumed" in types:
            resumed += 1
        check(detail["status"] == "SUCCEEDED", f"{execution['executionId']}: {detail['status']}")
    check(resumed >= 1, f"at least one execution was resumed: {executions}")
    health = control("/_csvstorm/health")
    check(health["counters"]["executions_resumed"] == resumed, f"health counts the resumed executions: {health}")
    for i in range(3):
        listing = aws_json("s3api", "list-objects-v2", "--bucket", "processed", "--prefix", f"restart/{i}.")
        check(len(listing.get("Contents", [])) == 1, f"restart/{i}: one output: {listing}")


if __name__ == "__main__":
    name = sys.argv[1].replace("-", "_")
    globals()["case_" + name]()
    with open(f"{WORK}/result.json", "w") as f:
        json.dump(RESULT, f)
    if FAILURES:
        print(f"{len(FAILURES)} check(s) failed in {sys.argv[1]}")
        sys.exit(1)
    print(f"{sys.argv[1]}: ok")
