#!/usr/bin/env bash
# Benchmark of `csvstorm emulate` (issue 4, "Performance"), all figures from one run:
#   1. single-core MD5 throughput (the MD5 the emulator uses for ETags);
#   2. server CPU seconds per GiB for the same `aws s3 cp` of a 1 GiB file: csvstorm emulate vs moto_server;
#   3. csvstorm's uploader -> csvstorm emulate, one upload stream (one connection, parts one
#      after another): throughput vs MD5, CPU split client/server;
#   4. peak RSS of the emulator under 100 concurrent 100 MiB uploads.
#
# Usage: swift build -c release --scratch-path .build-release --product csvstorm
#        scripts/bench-emulate.sh [path/to/csvstorm]
# Env:   SIZE_MIB (1024), CONCURRENT (100), CONCURRENT_MIB (100), SKIP_MOTO=1, SKIP_RSS=1
set -euo pipefail
BIN=${1:-.build-release/release/csvstorm}
SIZE_MIB=${SIZE_MIB:-1024}
CONCURRENT=${CONCURRENT:-100}
CONCURRENT_MIB=${CONCURRENT_MIB:-100}
WORK=$(mktemp -d /tmp/csvstorm-bench-emulate.XXXXXX)
CLK=$(getconf CLK_TCK)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]:-}"; do [ -n "$pid" ] && kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

export AWS_ACCESS_KEY_ID=csvstorm AWS_SECRET_ACCESS_KEY=csvstorm-secret AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true

cpu() { awk -v clk="$CLK" '{ printf "%.2f", ($14 + $15) / clk }' "/proc/$1/stat"; }
now() { date +%s.%N; }
calc() { python3 -c "print(round($1, 2))"; }

start_emulator() { # name [extra args] -> sets EMU_PID, EMU_URL
    local log="$WORK/emulator-$1.log"
    local name=$1
    shift
    "$BIN" emulate --port 0 --state-dir "$WORK/state-$name" "$@" >"$log" 2>&1 &
    EMU_PID=$!
    PIDS+=("$EMU_PID")
    for _ in $(seq 1 200); do
        EMU_URL=$(grep -o 'http://127.0.0.1:[0-9]*' "$log" | head -1 || true)
        [ -n "$EMU_URL" ] && return 0
        sleep 0.05
    done
    echo "emulator did not start: $(cat "$log")" >&2
    exit 1
}

stop() { kill -INT "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

echo "== csvstorm emulate benchmark ($(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load average $(cut -d' ' -f1-3 /proc/loadavg))"
FILE="$WORK/data.bin"
head -c $((SIZE_MIB * 1024 * 1024)) /dev/urandom >"$FILE"

# 1. MD5
"$BIN" emulate md5-speed --size 1GiB --repeats 3 >"$WORK/md5.txt"
MD5_MBS=$(awk 'NR == 1 {print $2}' "$WORK/md5.txt")
echo "1. single-core MD5 (swift-crypto Insecure.MD5): $MD5_MBS MB/s"
sed -n '2,$p' "$WORK/md5.txt" | sed 's/^/   /'


# 2. aws s3 cp: emulator vs moto
# awscli_cpu NAME [emulate args] -> server CPU s/GiB of one aws s3 cp against a fresh emulator
# (sets AWSCLI_WALL).
awscli_cpu() {
    start_emulator "$@"
    local before after t0 t1
    before=$(cpu "$EMU_PID"); t0=$(now)
    aws --endpoint-url "$EMU_URL" s3 cp "$FILE" s3://raw/awscli.bin --no-progress >/dev/null
    t1=$(now); after=$(cpu "$EMU_PID")
    stop "$EMU_PID"
    AWSCLI_WALL=$(calc "$t1 - $t0")
    AWSCLI_CPU=$(calc "($after - $before) / ($SIZE_MIB / 1024)")
}
awscli_cpu awscli
EMU_CPU=$AWSCLI_CPU
echo "2. aws s3 cp ${SIZE_MIB} MiB -> csvstorm emulate: server CPU $EMU_CPU s/GiB (wall $AWSCLI_WALL s)"
# awscli_variant FLAG WHAT: the same against an emulator started with FLAG; prints the line.
awscli_variant() {
    awscli_cpu "awscli$1" "$1"
    echo "   (with $1, $2: $AWSCLI_CPU s/GiB)"
}
# Each body's MD5 on its own request task (no MD5 thread, no SIMD lanes).
awscli_variant --no-batched-md5 "MD5 per request task"
NOBATCH_CPU=$AWSCLI_CPU
# Each direct write waited for (no native AIO: one write in flight per body).
awscli_variant --synchronous-direct-writes "each write waited for"
SYNC_CPU=$AWSCLI_CPU
# Bodies written through the page cache instead of with O_DIRECT.
awscli_variant --no-direct-writes "through the page cache"
BUFFERED_CPU=$AWSCLI_CPU
# Without checking the signed x-amz-content-sha256 (what that SHA-256 pass costs).
awscli_variant --skip-payload-sha256 "no SHA-256 of the signed payload"
echo "   (MD5 alone at the rate of 1.: $(calc "1073.741824 / $MD5_MBS") s/GiB)"

if [ "${SKIP_MOTO:-0}" != 1 ] && python3 -c 'import moto.server' 2>/dev/null; then
    MOTO_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    python3 -m moto.server -H 127.0.0.1 -p "$MOTO_PORT" >"$WORK/moto.log" 2>&1 &
    MOTO_PID=$!
    PIDS+=("$MOTO_PID")
    for _ in $(seq 1 200); do curl -s "http://127.0.0.1:$MOTO_PORT/moto-api/config" >/dev/null && break; sleep 0.1; done
    aws --endpoint-url "http://127.0.0.1:$MOTO_PORT" s3 mb s3://raw >/dev/null
    before=$(cpu "$MOTO_PID"); t0=$(now)
    aws --endpoint-url "http://127.0.0.1:$MOTO_PORT" s3 cp "$FILE" s3://raw/awscli.bin --no-progress >/dev/null
    t1=$(now); after=$(cpu "$MOTO_PID")
    MOTO_CPU=$(calc "($after - $before) / ($SIZE_MIB / 1024)")
    MOTO_WALL=$(calc "$t1 - $t0")
    kill "$MOTO_PID"; wait "$MOTO_PID" 2>/dev/null || true
    echo "   aws s3 cp ${SIZE_MIB} MiB -> moto_server:      server CPU $MOTO_CPU s/GiB (wall $MOTO_WALL s)"
    echo "   ratio emulate/moto: $(calc "$EMU_CPU / $MOTO_CPU") (target <= 0.20); with --no-batched-md5: $(calc "$NOBATCH_CPU / $MOTO_CPU"); with --no-direct-writes: $(calc "$BUFFERED_CPU / $MOTO_CPU"); with --synchronous-direct-writes: $(calc "$SYNC_CPU / $MOTO_CPU")"
fi

# 3. csvstorm uploader, one stream
start_emulator uploader
before=$(cpu "$EMU_PID"); t0=$(now)
/usr/bin/time -f "%U %S" -o "$WORK/client.time" \
    "$BIN" upload "$FILE" s3://raw/uploader.bin --endpoint-url "$EMU_URL" --concurrency 1 --quiet
t1=$(now); after=$(cpu "$EMU_PID")
read -r CU CS <"$WORK/client.time"
WALL=$(calc "$t1 - $t0")
MBS=$(calc "$SIZE_MIB * 1048576 / 1e6 / $WALL")
echo "3. csvstorm upload -> emulate, 1 stream: $MBS MB/s = $(calc "100 * $MBS / $MD5_MBS")% of single-core MD5 (target >= 70%)"
echo "   wall $WALL s; CPU server $(calc "$after - $before") s, client $(calc "$CU + $CS") s (user $CU, sys $CS) on $(nproc) shared cores"
# The same bytes as one presigned PUT from curl (a client that costs almost nothing): what the
# server alone sustains for one stream.
URL=$(python3 - "$EMU_URL" <<'PY'
import sys, boto3
from botocore.config import Config
client = boto3.client("s3", endpoint_url=sys.argv[1], config=Config(signature_version="s3v4"))
print(client.generate_presigned_url("put_object", Params={"Bucket": "raw", "Key": "curl.bin"}, ExpiresIn=600))
PY
)
before=$(cpu "$EMU_PID"); t0=$(now)
curl -s -o /dev/null -T "$FILE" "$URL"
t1=$(now); after=$(cpu "$EMU_PID")
CURL_MBS=$(calc "$SIZE_MIB * 1048576 / 1e6 / ($t1 - $t0)")
echo "   for comparison, curl (presigned PUT, one stream): $CURL_MBS MB/s = $(calc "100 * $CURL_MBS / $MD5_MBS")% of MD5, server CPU $(calc "($after - $before) / ($SIZE_MIB / 1024)") s/GiB"
stop "$EMU_PID"

# 4. Peak RSS under concurrent uploads
if [ "${SKIP_RSS:-0}" != 1 ]; then
    head -c $((CONCURRENT_MIB * 1024 * 1024)) "$FILE" >"$WORK/part.bin"
    start_emulator rss
    IDLE=$(awk '/VmRSS/ {print $2}' "/proc/$EMU_PID/status")
    t0=$(now)
    UPLOADERS=()
    for i in $(seq 1 "$CONCURRENT"); do
        "$BIN" upload "$WORK/part.bin" "s3://raw/concurrent/$i.bin" --endpoint-url "$EMU_URL" --concurrency 1 --quiet &
        UPLOADERS+=($!)
    done
    FAILED=0
    for pid in "${UPLOADERS[@]}"; do wait "$pid" || FAILED=$((FAILED + 1)); done
    t1=$(now)
    PEAK=$(awk '/VmHWM/ {print $2}' "/proc/$EMU_PID/status")
    COUNT=$(aws --endpoint-url "$EMU_URL" s3 ls s3://raw/concurrent/ | wc -l)
    echo "4. $CONCURRENT concurrent ${CONCURRENT_MIB} MiB uploads: peak RSS $((PEAK / 1024)) MiB (idle $((IDLE / 1024)) MiB), $COUNT objects, $FAILED failed, $(calc "$t1 - $t0") s"
    stop "$EMU_PID"
fi
echo "== load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
