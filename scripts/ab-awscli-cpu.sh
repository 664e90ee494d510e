#!/usr/bin/env bash
# Interleaved A/B of the emulator's server CPU for one `aws s3 cp` of a 1 GiB file: each variant
# runs against a fresh `csvstorm emulate --no-pipeline`, in alternating order round after round
# (this shared machine drifts by a third over a day, so only interleaved runs compare).
#
# Usage: VARIANTS="A|/tmp/csvstorm-old|X=1;B|.build-release/release/csvstorm|X=1;B1|.build-release/release/csvstorm|CSVSTORM_SHA256_NI_LANES=1" \
#          ROUNDS=6 scripts/ab-awscli-cpu.sh
#   SIZE_MIB (1024) sets the file size; the CPU printed is for the whole file.
#   Each variant: NAME|BINARY|ENV (one VAR=value assignment passed to the emulator; X=1 for none).
# Prints one line per run: NAME CPU-seconds (wall seconds).
set -euo pipefail
: "${VARIANTS:?set VARIANTS, see the header}"
WORK=$(mktemp -d /tmp/ab-awscli.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
CLK=$(getconf CLK_TCK)
export AWS_ACCESS_KEY_ID=csvstorm AWS_SECRET_ACCESS_KEY=csvstorm-secret AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true
SIZE_MIB=${SIZE_MIB:-1024}
head -c $((SIZE_MIB * 1024 * 1024)) /dev/urandom >"$WORK/data.bin"
cpu() { awk -v clk="$CLK" '{ printf "%.2f", ($14 + $15) / clk }' "/proc/$1/stat"; }

run() { # NAME BINARY ENV
    local log="$WORK/$1.log" url="" pid before after t0 t1
    rm -rf "$WORK/state"
    env "$3" "$2" emulate --port 0 --state-dir "$WORK/state" --no-pipeline >"$log" 2>&1 &
    pid=$!
    for _ in $(seq 1 200); do
        url=$(grep -o 'http://127.0.0.1:[0-9]*' "$log" | head -1 || true)
        [ -n "$url" ] && break
        sleep 0.05
    done
    [ -n "$url" ] || { echo "emulator $1 did not start: $(cat "$log")" >&2; exit 1; }
    before=$(cpu "$pid"); t0=$(date +%s.%N)
    aws --endpoint-url "$url" s3 cp "$WORK/data.bin" s3://raw/ab.bin --no-progress >/dev/null
    t1=$(date +%s.%N); after=$(cpu "$pid")
    kill -INT "$pid"; wait "$pid" || true
    python3 -c "print(f'$1 {$after - $before:.2f} (wall {$t1 - $t0:.1f})')"
}

IFS=';' read -ra variants <<<"$VARIANTS"
for round in $(seq 1 "${ROUNDS:-4}"); do
    order=("${variants[@]}")
    if [ $((round % 2)) = 0 ]; then
        order=()
        for ((i = ${#variants[@]} - 1; i >= 0; i--)); do order+=("${variants[$i]}"); done
    fi
    for variant in "${order[@]}"; do
        IFS='|' read -r name binary environment <<<"$variant"
        run "$name" "$binary" "$environment"
    done
done
