#!/usr/bin/env bash
# Start-up of `deepdive topics` (target: under 10 ms, tokenizer never loaded), measured on the
# release binary in a clean environment (empty HOME, no config file, no DEEPDIVE_*/OPENAI_*).
#
#   bash benches/startup.sh            # builds the release binary first
#   RUNS=500 bash benches/startup.sh   # more runs
#   SKIP_BUILD=1 bash benches/startup.sh
#
# Uses hyperfine when installed (apt-get install hyperfine); otherwise times RUNS runs itself
# and prints mean and median. Then shows that neither `topics` nor `batch` loads the tokenizer,
# three ways: peak RSS and page faults (/usr/bin/time -v), and a gdb breakpoint on the
# tokenizer's constructor, each compared with `batch --dry-run`, which counts every prompt's
# tokens for its estimate. `batch` is pointed at a closed port on 127.0.0.1 with one attempt:
# no traffic leaves the machine and it fails as soon as it tries to send.
set -euo pipefail

cd "$(dirname "$0")/.."
RUNS=${RUNS:-200}
BIN=$PWD/target/release/deepdive

if [[ -z ${SKIP_BUILD:-} ]]; then
    cargo build --release --bin deepdive
fi

SANDBOX=$(mktemp -d)
trap 'rm -rf "$SANDBOX"' EXIT
mkdir -p "$SANDBOX/home" "$SANDBOX/sessions"
# A port nothing listens on: bind an ephemeral one, then release it.
CLOSED_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

run_clean() {
    env -i PATH=/usr/bin:/bin HOME="$SANDBOX/home" XDG_CONFIG_HOME="$SANDBOX/home/.config" "$@"
}

TOPICS="$BIN topics"
TOPICS_JSON="$BIN topics --json"
HELP="$BIN --help"
BATCH="$BIN batch 1 --base-url http://127.0.0.1:$CLOSED_PORT/v1 --model gpt-4o --max-attempts 1 --sessions-dir $SANDBOX/sessions"
DRY_RUN="$BIN batch 1 --dry-run --base-url http://127.0.0.1:$CLOSED_PORT/v1 --model gpt-4o --sessions-dir $SANDBOX/sessions"

echo "== machine"
echo "nproc: $(nproc); cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs); load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "binary: $BIN ($(stat -c %s "$BIN") bytes)"

echo
echo "== wall time, $RUNS runs each"
if command -v hyperfine > /dev/null; then
    # -N: no intermediate shell, so its start-up is not counted.
    run_clean "$(command -v hyperfine)" -N --warmup 20 --runs "$RUNS" --ignore-failure \
        "$TOPICS" "$TOPICS_JSON" "$HELP" "$BATCH" "$DRY_RUN"
else
    for cmd in "$TOPICS" "$TOPICS_JSON" "$HELP" "$BATCH" "$DRY_RUN"; do
        for _ in $(seq 20); do run_clean $cmd > /dev/null 2>&1 || true; done
        for _ in $(seq "$RUNS"); do
            start=$(date +%s%N)
            run_clean $cmd > /dev/null 2>&1 || true
            echo $(( $(date +%s%N) - start ))
        done | sort -n | awk -v cmd="$cmd" '{ t[NR] = $1; s += $1 }
            END { printf "%s\n  mean %.2f ms, median %.2f ms, min %.2f ms, max %.2f ms (n=%d)\n",
                  cmd, s / NR / 1e6, t[int((NR + 1) / 2)] / 1e6, t[1] / 1e6, t[NR] / 1e6, NR }'
    done
fi

echo
echo "== peak memory and page faults (/usr/bin/time -v)"
for cmd in "$TOPICS" "$HELP" "$BATCH" "$DRY_RUN"; do
    stats=$(run_clean /usr/bin/time -v $cmd 2>&1 > /dev/null || true)
    rss=$(grep 'Maximum resident' <<< "$stats" | awk '{print $NF}')
    minor=$(grep 'Minor' <<< "$stats" | awk '{print $NF}')
    printf '%-20s peak RSS %6d KiB, minor page faults %6d\n' \
        "$(cut -d' ' -f2-4 <<< "$cmd")" "$rss" "$minor"
done

echo
echo "== is the tokenizer constructed? (gdb breakpoints on tiktoken-rs's o200k_base and cl100k_base)"
if command -v gdb > /dev/null && command -v nm > /dev/null; then
    # The release binary has no debug info: break on the mangled symbols.
    breaks=()
    for sym in $(nm "$BIN" | grep -oE '_ZN11tiktoken_rs12tiktoken_ext13openai_public[0-9]+(o200k|cl100k)_base17h[0-9a-f]+E'); do
        breaks+=(-ex "break $sym")
    done
    for cmd in "$TOPICS" "$BATCH" "$DRY_RUN"; do
        hits=$(run_clean gdb -q -batch -nx "${breaks[@]}" -ex run -ex kill --args $cmd 2>&1 \
            | grep -cE 'Breakpoint [0-9]+, ' || true)
        printf '%-20s tokenizer constructor reached: %s\n' "$(cut -d' ' -f2-4 <<< "$cmd")" \
            "$([[ $hits -gt 0 ]] && echo yes || echo no)"
    done
else
    echo "gdb or nm not installed; skipped"
fi
