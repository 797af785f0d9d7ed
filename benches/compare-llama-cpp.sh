#!/bin/sh
# deepdive's local backend (candle) against llama.cpp on the same GGUF files and thread count,
# the two runs interleaved so that both see the same load (docs/benchmarks.md, section 6).
#
#   LLAMA_BENCH=/path/to/llama-bench benches/compare-llama-cpp.sh ROUNDS THREADS FILE.gguf...
#
# Prints one tab-separated line per engine, file and round:
#   round  file  engine  load-average  prompt-tokens/s  generation-tokens/s  follow-up-seconds
#
# - prompt: a ~540-token prompt on an empty cache (llama-bench -p N).
# - generation: 64 tokens after that prompt (llama-bench -n 64 -d N: at the same depth).
# - follow-up: the time to the first token of a follow-up turn (the prompt, the 64-token
#   answer and a short question) on the cache the first turn left. deepdive reuses whole
#   aligned 64-token chunks of the prompt only (greedy determinism, section 6), so it also
#   recomputes the prompt's tail and the answer; llama.cpp (as llama-server does) reuses
#   everything and processes only the question: llama-bench -p NEW -d HISTORY.
#
# llama.cpp itself is not part of this repository: build it as docs/benchmarks.md says.
# Nothing here runs in CI.
set -eu

rounds=${1:?rounds}
threads=${2:?threads}
shift 2
: "${LLAMA_BENCH:?set LLAMA_BENCH to the llama-bench binary}"

# DEEPDIVE_BENCH_BIN: an already built `local` bench binary (else it is built here).
deepdive=${DEEPDIVE_BENCH_BIN:-$(cargo bench --bench local --no-run 2>&1 |
    sed -n 's/.*Executable .*(\(.*\)).*/\1/p' | tail -n 1)}
[ -x "$deepdive" ] || { echo "could not build the local bench" >&2; exit 1; }

load() { cut -d' ' -f1 /proc/loadavg; }

# The tokens/s of llama-bench's markdown row for test $1 (e.g. "pp540", "tg64 @ d540").
llama_rate() { grep -F " $1 |" | sed 's/ ± .*//; s/.*| *//'; }

# Field $1 of deepdive's "run 1:" line, by the sed expression $2.
field() { printf '%s\n' "$line" | sed "s/$1/\\1/"; }

round=1
while [ "$round" -le "$rounds" ]; do
    for file in "$@"; do
        name=$(basename "$file" .gguf)
        before=$(load)
        out=$(RAYON_NUM_THREADS=$threads DEEPDIVE_BENCH_RUNS=1 DEEPDIVE_BENCH_GGUF=$file \
            "$deepdive" 2>&1)
        line=$(printf '%s\n' "$out" | grep '^run 1:')
        prompt=$(field '.*prompt \([0-9]*\) tokens.*')
        pp=$(field '.*prompt [0-9]* tokens \([0-9.]*\) tokens\/s.*')
        answer=$(field '.*generation \([0-9]*\) tokens.*')
        tg=$(field '.*generation [0-9]* tokens \([0-9.]*\) tokens\/s.*')
        cached=$(field '.*follow-up \([0-9]*\) cached.*')
        new=$(field '.*cached + \([0-9]*\) new.*')
        follow=$(field '.*first token after \([0-9.]*\) s.*')
        printf '%s\t%s\tdeepdive\t%s\t%s\t%s\t%s\n' "$round" "$name" "$before" "$pp" "$tg" "$follow"

        history=$((prompt + answer))
        question=$((cached + new - history))
        before=$(load)
        bench=$("$LLAMA_BENCH" -m "$file" -t "$threads" -p "$prompt" -n 0 -r 1 2>/dev/null)
        lpp=$(printf '%s\n' "$bench" | llama_rate "pp$prompt")
        bench=$("$LLAMA_BENCH" -m "$file" -t "$threads" -p "$question" -n 64 -d "$prompt" \
            -r 1 2>/dev/null)
        ltg=$(printf '%s\n' "$bench" | llama_rate "tg64 @ d$prompt")
        bench=$("$LLAMA_BENCH" -m "$file" -t "$threads" -p "$question" -n 0 -d "$history" \
            -r 1 2>/dev/null)
        lfollow=$(printf '%s\n' "$bench" | llama_rate "pp$question @ d$history" |
            awk -v n="$question" '{ printf "%.3f", n / $1 }')
        printf '%s\t%s\tllama.cpp\t%s\t%s\t%s\t%s\n' "$round" "$name" "$before" "$lpp" "$ltg" "$lfollow"
    done
    round=$((round + 1))
done
