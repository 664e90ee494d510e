#!/usr/bin/env python3
"""Real S3 clients that no one here wrote (awscli, boto3) against `csvstorm emulate`.

Run by EmulatorTests/RealClientTests.swift, which starts the emulator and passes:
  EMULATOR_ENDPOINT (http://127.0.0.1:PORT), AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
  AWS_DEFAULT_REGION, EMULATOR_MIN_PART_SIZE (bytes), EMULATOR_WORKDIR (scratch directory).

    python3 emulator_clients.py CASE     # one of the functions named case_*

Exits 0 when every check of the case passed; prints what failed otherwise.
"""
import hashlib
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
import uuid

import boto3
import botocore
from botocore.config import Config
from botocore.exceptions import ClientError

ENDPOINT = os.environ["EMULATOR_ENDPOINT"]
MIN_PART = int(os.environ.get("EMULATOR_MIN_PART_SIZE", str(5 << 20)))
WORK = os.environ.get("EMULATOR_WORKDIR", "/tmp")
FAILURES = []


def check(condition, what):
    if not condition:
        FAILURES.append(what)
        print("FAIL:", what, flush=True)


def s3(**kwargs):
    # SigV4 also for presigned URLs (boto3 presigns with SigV2 by default; the emulator, like new
    # S3 regions, accepts only SigV4).
    config = Config(retries={"max_attempts": 1, "mode": "standard"}, s3={"addressing_style": "path"}, signature_version="s3v4")
    return boto3.client("s3", endpoint_url=ENDPOINT, config=config, **kwargs)


def aws(*args, expect_ok=True):
    command = ["aws", "--endpoint-url", ENDPOINT, "--no-progress" if args and args[0] == "s3" and args[1] == "cp" else None, *args]
    command = [c for c in command if c is not None]
    if args[0] == "s3" and args[1] == "cp":
        command = ["aws", "--endpoint-url", ENDPOINT, *args, "--no-progress"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    if expect_ok and result.returncode != 0:
        FAILURES.append(f"{' '.join(args)} exited {result.returncode}: {result.stderr.strip()}")
        print("FAIL:", FAILURES[-1], flush=True)
    return result


def aws_json(*args):
    result = aws(*args)
    return json.loads(result.stdout) if result.returncode == 0 and result.stdout.strip() else {}


def error_code(call):
    """The S3 error code boto3 reports for `call`, or None if it succeeded."""
    try:
        call()
    except ClientError as error:
        return error.response["Error"]["Code"]
    return None


def write_file(path, size, seed):
    block = hashlib.sha256(str(seed).encode()).digest() * (1 << 15)  # 1 MiB
    with open(path, "wb") as f:
        remaining = size
        counter = 0
        while remaining > 0:
            chunk = bytes([counter & 0xFF]) + block[1 : min(len(block), remaining)]
            f.write(chunk[:remaining])
            remaining -= len(chunk[:remaining])
            counter += 1


def md5_of_md5s(path, part_size):
    digests = []
    with open(path, "rb") as f:
        while True:
            chunk = f.read(part_size)
            if not chunk:
                break
            digests.append(hashlib.md5(chunk).digest())
    return hashlib.md5(b"".join(digests)).hexdigest() + f"-{len(digests)}"


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


# ---------------------------------------------------------------------------------------------

def case_buckets():
    names = [b["Name"] for b in aws_json("s3api", "list-buckets").get("Buckets", [])]
    for expected in ("raw", "processed", "failed"):
        check(expected in names, f"list-buckets has {expected}: {names}")
    bucket = unique("made-by-awscli")
    aws("s3", "mb", f"s3://{bucket}")
    names = [b["Name"] for b in s3().list_buckets()["Buckets"]]
    check(bucket in names, f"boto3 list_buckets has {bucket}")
    s3().head_bucket(Bucket=bucket)
    check(error_code(lambda: s3().head_bucket(Bucket="no-such-bucket-here")) == "404", "head_bucket of a missing bucket is 404")
    versioning = s3().get_bucket_versioning(Bucket="raw")
    check(versioning.get("Status") == "Enabled", f"raw is versioned: {versioning}")
    lock = s3().get_object_lock_configuration(Bucket="processed")["ObjectLockConfiguration"]
    check(lock["ObjectLockEnabled"] == "Enabled" and lock["Rule"]["DefaultRetention"]["Mode"] == "COMPLIANCE", f"processed lock: {lock}")
    check(error_code(lambda: s3().create_bucket(Bucket="Not_A_Valid_Name")) in ("InvalidBucketName", None), "invalid bucket name")


def case_cp_large():
    path = os.path.join(WORK, "large.bin")
    size = 101 * 1024 * 1024 + 12345
    write_file(path, size, seed=7)
    key = unique("incoming/large") + ".bin"
    aws("s3", "cp", path, f"s3://raw/{key}")
    head = aws_json("s3api", "head-object", "--bucket", "raw", "--key", key)
    expected = md5_of_md5s(path, 8 * 1024 * 1024)  # awscli's default multipart_chunksize
    check(head.get("ETag") == f'"{expected}"', f"ETag {head.get('ETag')} == md5-of-md5s {expected}")
    check(head.get("ContentLength") == size, f"ContentLength {head.get('ContentLength')} == {size}")
    check(bool(head.get("VersionId")), "head-object has a VersionId")
    back = os.path.join(WORK, "large.back")
    aws_json("s3api", "get-object", "--bucket", "raw", "--key", key, back)
    with open(path, "rb") as a, open(back, "rb") as b:
        check(hashlib.sha256(a.read()).digest() == hashlib.sha256(b.read()).digest(), "get-object is byte-identical")
    aws("s3", "cp", f"s3://raw/{key}", back + "2")
    with open(path, "rb") as a, open(back + "2", "rb") as b:
        check(a.read() == b.read(), "aws s3 cp download is byte-identical")
    ranged = os.path.join(WORK, "range.bin")
    aws_json("s3api", "get-object", "--bucket", "raw", "--key", key, "--range", "bytes=8388600-8388700", ranged)
    with open(path, "rb") as a, open(ranged, "rb") as b:
        a.seek(8388600)
        check(a.read(101) == b.read(), "ranged get-object across a part boundary")
    listing = aws("s3", "ls", f"s3://raw/{key}").stdout
    check(str(size) in listing, f"aws s3 ls shows the size: {listing}")
    for name in (path, back, back + "2", ranged):
        os.remove(name)


def case_multipart_api():
    key = unique("mp/api") + ".csv"
    upload_id = aws_json("s3api", "create-multipart-upload", "--bucket", "raw", "--key", key)["UploadId"]
    part_path = os.path.join(WORK, "part.bin")
    write_file(part_path, MIN_PART, seed=1)
    etags = []
    for number in (1, 2):
        etags.append(aws_json("s3api", "upload-part", "--bucket", "raw", "--key", key, "--upload-id", upload_id,
                              "--part-number", str(number), "--body", part_path)["ETag"])
    with open(part_path, "rb") as f:
        check(etags[0] == f'"{hashlib.md5(f.read()).hexdigest()}"', f"part ETag is the quoted MD5 hex: {etags[0]}")
    parts = aws_json("s3api", "list-parts", "--bucket", "raw", "--key", key, "--upload-id", upload_id).get("Parts", [])
    check([p["PartNumber"] for p in parts] == [1, 2], f"list-parts shows parts 1, 2: {parts}")
    check(all(p["Size"] == MIN_PART for p in parts), "list-parts sizes")
    uploads = aws_json("s3api", "list-multipart-uploads", "--bucket", "raw").get("Uploads", [])
    check(any(u["UploadId"] == upload_id and u["Key"] == key for u in uploads), "list-multipart-uploads shows the upload")
    aws("s3api", "abort-multipart-upload", "--bucket", "raw", "--key", key, "--upload-id", upload_id)
    uploads = aws_json("s3api", "list-multipart-uploads", "--bucket", "raw").get("Uploads", [])
    check(not any(u["UploadId"] == upload_id for u in uploads), "aborted upload is gone")
    result = aws("s3api", "list-parts", "--bucket", "raw", "--key", key, "--upload-id", upload_id, expect_ok=False)
    check(result.returncode != 0 and "NoSuchUpload" in result.stderr, f"list-parts after abort: NoSuchUpload ({result.stderr.strip()})")

    # Complete through the CLI too, with the ETags from above.
    upload_id = aws_json("s3api", "create-multipart-upload", "--bucket", "raw", "--key", key)["UploadId"]
    etags = [aws_json("s3api", "upload-part", "--bucket", "raw", "--key", key, "--upload-id", upload_id,
                      "--part-number", str(n), "--body", part_path)["ETag"] for n in (1, 2)]
    spec = json.dumps({"Parts": [{"PartNumber": n, "ETag": e} for n, e in zip((1, 2), etags)]})
    done = aws_json("s3api", "complete-multipart-upload", "--bucket", "raw", "--key", key, "--upload-id", upload_id,
                    "--multipart-upload", spec)
    with open(part_path, "rb") as f:
        digest = hashlib.md5(f.read()).digest()
    check(done.get("ETag") == f'"{hashlib.md5(digest + digest).hexdigest()}-2"', f"complete ETag: {done}")
    os.remove(part_path)


def case_errors():
    client = s3()
    body = b"x" * MIN_PART
    key = unique("errors/obj")
    check(error_code(lambda: client.get_object(Bucket="no-such-bucket-xyz", Key="k")) == "NoSuchBucket", "NoSuchBucket")
    check(error_code(lambda: client.get_object(Bucket="raw", Key=key)) == "NoSuchKey", "NoSuchKey")
    check(error_code(lambda: client.head_object(Bucket="raw", Key=key)) == "404", "HeadObject missing: 404")
    check(error_code(lambda: client.upload_part(Bucket="raw", Key=key, UploadId="nope", PartNumber=1, Body=b"a")) == "NoSuchUpload",
          "UploadPart to an unknown upload: NoSuchUpload")
    try:
        client.upload_part(Bucket="raw", Key=key, UploadId="nope", PartNumber=1, Body=b"a")
    except ClientError as error:
        check(error.response["ResponseMetadata"]["HTTPStatusCode"] == 404, "NoSuchUpload is 404")

    upload = client.create_multipart_upload(Bucket="raw", Key=key)["UploadId"]
    p1 = client.upload_part(Bucket="raw", Key=key, UploadId=upload, PartNumber=1, Body=body)["ETag"]
    p2 = client.upload_part(Bucket="raw", Key=key, UploadId=upload, PartNumber=2, Body=b"tail")["ETag"]
    complete = lambda parts: client.complete_multipart_upload(Bucket="raw", Key=key, UploadId=upload, MultipartUpload={"Parts": parts})
    check(error_code(lambda: complete([])) == "MalformedXML", "empty part list: MalformedXML")
    check(error_code(lambda: complete([{"PartNumber": 1, "ETag": '"00000000000000000000000000000000"'}])) == "InvalidPart",
          "wrong ETag: InvalidPart")
    check(error_code(lambda: complete([{"PartNumber": 3, "ETag": p1}])) == "InvalidPart", "unknown part: InvalidPart")
    check(error_code(lambda: complete([{"PartNumber": 2, "ETag": p2}, {"PartNumber": 1, "ETag": p1}])) == "InvalidPartOrder",
          "descending parts: InvalidPartOrder")
    small = client.upload_part(Bucket="raw", Key=key, UploadId=upload, PartNumber=3, Body=b"small")["ETag"]
    check(error_code(lambda: complete([{"PartNumber": 3, "ETag": small}, {"PartNumber": 2, "ETag": p2}][::-1][::-1][:0]
                                      + [{"PartNumber": 2, "ETag": p2}, {"PartNumber": 3, "ETag": small}])) == "EntityTooSmall",
          "small non-last part: EntityTooSmall")
    first = complete([{"PartNumber": 1, "ETag": p1}, {"PartNumber": 2, "ETag": p2}])
    again = complete([{"PartNumber": 1, "ETag": p1}, {"PartNumber": 2, "ETag": p2}])
    check(first["ETag"] == again["ETag"] and first.get("VersionId") == again.get("VersionId"),
          f"identical CompleteMultipartUpload retried: same success ({first['ETag']}, {again['ETag']})")
    check(error_code(lambda: complete([{"PartNumber": 1, "ETag": p1}])) == "NoSuchUpload", "different retry: NoSuchUpload")
    versions = client.list_object_versions(Bucket="raw", Prefix=key)["Versions"]
    check(len(versions) == 1, f"the retry made no second version: {len(versions)}")

    check(error_code(lambda: client.put_object(Bucket="raw", Key=key, Body=b"hello", ContentMD5="XrY7u+Ae7tCTyyK7j1rNww==")) == "BadDigest",
          "wrong Content-MD5: BadDigest")
    check(error_code(lambda: client.put_object(Bucket="raw", Key=key, Body=b"hello", ContentMD5="nonsense")) == "InvalidDigest",
          "malformed Content-MD5: InvalidDigest")
    check(error_code(lambda: client.get_object(Bucket="raw", Key=key, Range="bytes=99999999-")) == "InvalidRange", "InvalidRange")
    check(error_code(lambda: client.get_object(Bucket="raw", Key=key, VersionId="no-such-version")) == "NoSuchVersion", "NoSuchVersion")
    check(error_code(lambda: client.get_object(Bucket="raw", Key=key, IfMatch='"abc"')) == "PreconditionFailed", "PreconditionFailed")

    wrong_secret = s3(aws_secret_access_key="not-the-secret", aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"])
    check(error_code(lambda: wrong_secret.list_buckets()) == "SignatureDoesNotMatch", "wrong secret: SignatureDoesNotMatch")
    check(error_code(lambda: wrong_secret.put_object(Bucket="raw", Key=key, Body=b"x" * 100000)) == "SignatureDoesNotMatch",
          "wrong secret on a PUT with a body (Expect: 100-continue): SignatureDoesNotMatch")
    unknown = s3(aws_secret_access_key="x", aws_access_key_id="AKIDUNKNOWN")
    check(error_code(lambda: unknown.list_buckets()) == "InvalidAccessKeyId", "unknown key: InvalidAccessKeyId")
    try:
        urllib.request.urlopen(f"{ENDPOINT}/raw/{key}", timeout=10)
        check(False, "unsigned request must fail")
    except urllib.error.HTTPError as error:
        text = error.read().decode()
        check(error.code == 403 and "<Code>AccessDenied</Code>" in text, f"unsigned: 403 AccessDenied ({error.code} {text[:200]})")
    # The connection still works after a refused 100-continue upload.
    check(client.head_object(Bucket="raw", Key=key)["ContentLength"] == MIN_PART + 4, "object intact after refused writes")


def case_object_lock():
    client = s3()
    key = unique("out/locked") + ".csv"
    first = client.put_object(Bucket="processed", Key=key, Body=b"v1")
    retention = client.get_object_retention(Bucket="processed", Key=key, VersionId=first["VersionId"])["Retention"]
    check(retention["Mode"] == "COMPLIANCE", f"retention mode: {retention}")
    check(error_code(lambda: client.delete_object(Bucket="processed", Key=key, VersionId=first["VersionId"])) == "AccessDenied",
          "deleting a locked version: AccessDenied")
    second = client.put_object(Bucket="processed", Key=key, Body=b"v2")
    check(second["VersionId"] != first["VersionId"], "a new version of a locked key can be written")
    check(client.get_object(Bucket="processed", Key=key)["Body"].read() == b"v2", "latest is v2")
    check(client.get_object(Bucket="processed", Key=key, VersionId=first["VersionId"])["Body"].read() == b"v1", "v1 still there")
    marker = client.delete_object(Bucket="processed", Key=key)
    check(marker.get("DeleteMarker") is True, f"delete without version: delete marker ({marker})")
    check(error_code(lambda: client.get_object(Bucket="processed", Key=key)) == "NoSuchKey", "behind a delete marker: NoSuchKey")
    check(client.get_object(Bucket="processed", Key=key, VersionId=first["VersionId"])["Body"].read() == b"v1", "locked v1 survives")
    check(error_code(lambda: client.get_object_retention(Bucket="raw", Key=key)) == "InvalidRequest", "retention on raw: InvalidRequest")


def case_listing():
    client = s3()
    base = unique("list") + "/"
    keys = [base + k for k in ("a.csv", "b c.csv", "d+e.csv", "sub/1.csv", "sub/2.csv", "sub2/x.csv", "z/ü.csv")]
    for k in keys:
        client.put_object(Bucket="raw", Key=k, Body=k.encode())
    client.put_object(Bucket="raw", Key=keys[0], Body=b"second version")
    paginator = client.get_paginator("list_objects_v2")
    seen = [o["Key"] for page in paginator.paginate(Bucket="raw", Prefix=base, PaginationConfig={"PageSize": 2}) for o in page.get("Contents", [])]
    check(seen == sorted(keys), f"paginated list_objects_v2: {seen}")
    pages = list(paginator.paginate(Bucket="raw", Prefix=base, Delimiter="/", PaginationConfig={"PageSize": 2}))
    flat = [o["Key"] for p in pages for o in p.get("Contents", [])]
    prefixes = [c["Prefix"] for p in pages for c in p.get("CommonPrefixes", [])]
    check(flat == sorted(keys[:3]), f"delimiter keys: {flat}")
    check(prefixes == [base + "sub/", base + "sub2/", base + "z/"], f"delimiter prefixes: {prefixes}")
    versions = client.list_object_versions(Bucket="raw", Prefix=keys[0])["Versions"]
    check(len(versions) == 2 and versions[0]["IsLatest"] and not versions[1]["IsLatest"], f"two versions, newest first: {versions}")
    check(client.get_object(Bucket="raw", Key=keys[1])["Body"].read() == keys[1].encode(), "key with a space")
    check(client.get_object(Bucket="raw", Key=keys[2])["Body"].read() == keys[2].encode(), "key with a plus")
    listed = aws("s3", "ls", f"s3://raw/{base}", "--recursive").stdout
    check(listed.count("\n") == len(keys), f"aws s3 ls --recursive lists {len(keys)}: {listed}")
    removed = aws("s3", "rm", f"s3://raw/{keys[3]}")
    check(removed.returncode == 0, "aws s3 rm")
    seen = [o["Key"] for o in client.list_objects_v2(Bucket="raw", Prefix=base + "sub/").get("Contents", [])]
    check(seen == [keys[4]], f"after rm: {seen}")
    removed = aws("s3", "rm", f"s3://raw/{base}", "--recursive")  # DeleteObjects
    check(removed.returncode == 0, "aws s3 rm --recursive")
    check(client.list_objects_v2(Bucket="raw", Prefix=base).get("KeyCount") == 0, "nothing left after rm --recursive")
    locked = client.put_object(Bucket="processed", Key=base + "locked", Body=b"x")
    result = client.delete_objects(Bucket="processed", Delete={"Objects": [{"Key": base + "locked", "VersionId": locked["VersionId"]}]})
    check([e["Code"] for e in result.get("Errors", [])] == ["AccessDenied"], f"DeleteObjects reports the locked version: {result}")


def case_presigned():
    client = s3()
    key = unique("presigned/obj")
    url = client.generate_presigned_url("put_object", Params={"Bucket": "raw", "Key": key}, ExpiresIn=300)
    request = urllib.request.Request(url, data=b"presigned body", method="PUT")
    with urllib.request.urlopen(request, timeout=10) as response:
        check(response.status == 200, "presigned PUT")
    url = client.generate_presigned_url("get_object", Params={"Bucket": "raw", "Key": key}, ExpiresIn=300)
    with urllib.request.urlopen(url, timeout=10) as response:
        check(response.read() == b"presigned body", "presigned GET")
    tampered = url.replace("X-Amz-Signature=", "X-Amz-Signature=0")
    try:
        urllib.request.urlopen(tampered, timeout=10)
        check(False, "tampered presigned URL must fail")
    except urllib.error.HTTPError as error:
        check(error.code == 403, f"tampered presigned URL: 403 ({error.code})")


def case_checksums():
    client = s3()
    key = unique("checksums/obj")
    for algorithm in ("CRC32",):
        put = client.put_object(Bucket="raw", Key=key, Body=b"checksummed body", ChecksumAlgorithm=algorithm)
        check(f"Checksum{algorithm}" in put, f"PutObject echoes the {algorithm} checksum: {put}")
        got = client.get_object(Bucket="raw", Key=key, ChecksumMode="ENABLED")
        check(got["Body"].read() == b"checksummed body", f"GetObject with {algorithm} validation")
    # CRC32 only: botocore needs awscrt for CRC32C (csvstorm's own client covers CRC32C).
    upload = client.create_multipart_upload(Bucket="raw", Key=key, ChecksumAlgorithm="CRC32")["UploadId"]
    parts = []
    for number, data in ((1, b"a" * MIN_PART), (2, b"b" * 10)):
        r = client.upload_part(Bucket="raw", Key=key, UploadId=upload, PartNumber=number, Body=data, ChecksumAlgorithm="CRC32")
        parts.append({"PartNumber": number, "ETag": r["ETag"], "ChecksumCRC32": r["ChecksumCRC32"]})
    done = client.complete_multipart_upload(Bucket="raw", Key=key, UploadId=upload, MultipartUpload={"Parts": parts})
    check(done.get("ChecksumCRC32", "").endswith("-2"), f"composite CRC32 checksum: {done.get('ChecksumCRC32')}")
    import base64, zlib
    raw = b"".join(base64.b64decode(p["ChecksumCRC32"]) for p in parts)
    expected = base64.b64encode(zlib.crc32(raw).to_bytes(4, "big")).decode() + "-2"
    check(done.get("ChecksumCRC32") == expected, f"composite = base64(crc32(concat part checksums))-N: {expected}")
    got = client.get_object(Bucket="raw", Key=key, ChecksumMode="ENABLED")
    check(len(got["Body"].read()) == MIN_PART + 10, "GetObject of the multipart object")
    bad = error_code(lambda: client.put_object(Bucket="raw", Key=key, Body=b"abc", ChecksumCRC32="AAAAAA=="))
    check(bad == "BadDigest", f"wrong x-amz-checksum-crc32: BadDigest ({bad})")


def case_aws_chunked():
    """What botocore sends over TLS (STREAMING-UNSIGNED-PAYLOAD-TRAILER: aws-chunked body inside
    HTTP chunked transfer encoding, CRC32 in a trailer), forced over plain HTTP."""
    import botocore.httpchecksum as httpchecksum
    from types import SimpleNamespace

    original = httpchecksum.urlparse
    httpchecksum.urlparse = lambda url: SimpleNamespace(scheme="https")
    try:
        client = s3()
        body = bytes(range(256)) * 12000
        key = unique("chunked/obj")
        put = client.put_object(Bucket="raw", Key=key, Body=body)
        check(put["ETag"] == f'"{hashlib.md5(body).hexdigest()}"', f"aws-chunked PutObject ETag: {put}")
        check("ChecksumCRC32" in put, "trailer checksum echoed")
        check(client.get_object(Bucket="raw", Key=key)["Body"].read() == body, "aws-chunked body stored byte-identical")
        upload = client.create_multipart_upload(Bucket="raw", Key=key)["UploadId"]
        part = client.upload_part(Bucket="raw", Key=key, UploadId=upload, PartNumber=1, Body=body)
        check(part["ETag"] == put["ETag"], "aws-chunked UploadPart ETag")
    finally:
        httpchecksum.urlparse = original


def case_crash_prepare():
    """Acknowledged object + open upload, then a PUT whose body is half sent when the server is
    killed with SIGKILL (EMULATOR_PID)."""
    import signal
    import socket
    import time
    from urllib.parse import urlsplit

    client = s3()
    client.put_object(Bucket="raw", Key="crash/acked.csv", Body=b"acknowledged")
    upload = client.create_multipart_upload(Bucket="raw", Key="crash/open.csv")["UploadId"]
    etag = client.upload_part(Bucket="raw", Key="crash/open.csv", UploadId=upload, PartNumber=1, Body=b"p" * MIN_PART)["ETag"]
    with open(os.path.join(WORK, "upload.json"), "w") as f:
        json.dump({"UploadId": upload, "ETag": etag}, f)
    url = urlsplit(client.generate_presigned_url("put_object", Params={"Bucket": "raw", "Key": "crash/half.csv"}, ExpiresIn=300))
    sock = socket.create_connection((url.hostname, url.port), timeout=10)
    size = 4 << 20
    sock.sendall(f"PUT {url.path}?{url.query} HTTP/1.1\r\nHost: {url.netloc}\r\nContent-Length: {size}\r\n\r\n".encode())
    sock.sendall(b"h" * (size // 2))
    time.sleep(0.5)  # the server is streaming the first half to tmp/
    tmp = [n for n in os.listdir(os.path.join(os.environ["EMULATOR_STATE_DIR"], "tmp"))]
    check(len(tmp) == 1, f"a half-written body is in tmp/: {tmp}")
    os.kill(int(os.environ["EMULATOR_PID"]), signal.SIGKILL)
    sock.close()


def case_crash_verify():
    client = s3()
    check(client.get_object(Bucket="raw", Key="crash/acked.csv")["Body"].read() == b"acknowledged", "acknowledged object survived kill -9")
    check(error_code(lambda: client.head_object(Bucket="raw", Key="crash/half.csv")) == "404", "half-sent object is not visible")
    keys = [o["Key"] for o in client.list_objects_v2(Bucket="raw", Prefix="crash/").get("Contents", [])]
    check(keys == ["crash/acked.csv"], f"listing after the crash: {keys}")
    check(os.listdir(os.path.join(os.environ["EMULATOR_STATE_DIR"], "tmp")) == [], "tmp/ emptied at start")
    with open(os.path.join(WORK, "upload.json")) as f:
        saved = json.load(f)
    uploads = [u["UploadId"] for u in client.list_multipart_uploads(Bucket="raw").get("Uploads", [])]
    check(saved["UploadId"] in uploads, "the in-progress upload survived kill -9")
    tail = client.upload_part(Bucket="raw", Key="crash/open.csv", UploadId=saved["UploadId"], PartNumber=2, Body=b"end")["ETag"]
    client.complete_multipart_upload(Bucket="raw", Key="crash/open.csv", UploadId=saved["UploadId"],
                                     MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": saved["ETag"]}, {"PartNumber": 2, "ETag": tail}]})
    body = client.get_object(Bucket="raw", Key="crash/open.csv")["Body"].read()
    check(body == b"p" * MIN_PART + b"end", "upload completed after the restart")


if __name__ == "__main__":
    name = sys.argv[1]
    globals()["case_" + name.replace("-", "_")]()
    if FAILURES:
        print(f"{len(FAILURES)} check(s) failed in {name}", flush=True)
        sys.exit(1)
    print(f"ok {name}", flush=True)
