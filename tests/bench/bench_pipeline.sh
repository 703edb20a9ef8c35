#!/bin/sh
# bench_pipeline.sh — `make bench-pipeline`: documents per hour through the
# whole product on one host, one document at a time against many at once,
# and the same token work on ik_llama.cpp's engine when it is given.
#
# usage: tests/bench/bench_pipeline.sh PRECIS MODELS_DIR
#   PRECIS_TEST_MODELS  directory holding llama-2-tiny-random.gguf (vocabulary)
#   PRECIS_TEST_CORPUS  the corpus: documents are cut from its PDFs' text
#   BENCH_TYPE          model type (default q4_0; TinyLlama-1.1B shape, random weights)
#   BENCH_DOCS          documents per run and jobs in flight (default 8)
#   BENCH_WORDS         words per document (default 360)
#   BENCH_MAX_TOKENS    answer cap per model call (default 128)
#   BENCH_ROUNDS        interleaved rounds (default 2)
#   BENCH_THREADS       engine threads (default 2)
#   BENCH_DRAFT         false: run and serve without prompt-lookup drafts
#                       ([engine] draft; default true)
#   BENCH_SERVE         1: also time `precis serve` (mock broker + throwaway
#                       PostgreSQL, as `make demo`); default 1 when psql exists
#   IK_BATCHED_BENCH    ik_llama.cpp's llama-batched-bench binary (built outside
#                       the repository); if set, it runs in each round with the
#                       mean prompt and answer lengths precis measured:
#                       -npp P -ntg G -npl 1,BENCH_DOCS; and again with P the
#                       prompt tokens precis computed (its cached instruction
#                       prefix left out, as if ik's server cached it too)
# Prints one line per measurement and a table; raw logs stay in MODELS_DIR/pipeline/.
set -eu

precis=$1
dir=$2
type=${BENCH_TYPE:-q4_0}
ndocs=${BENCH_DOCS:-8}
words=${BENCH_WORDS:-360}
ntg=${BENCH_MAX_TOKENS:-128}
rounds=${BENCH_ROUNDS:-2}
threads=${BENCH_THREADS:-2}
draft=${BENCH_DRAFT:-true}
serve=${BENCH_SERVE:-$(command -v psql >/dev/null 2>&1 && echo 1 || echo 0)}
ik=${IK_BATCHED_BENCH:-}
vocab=${PRECIS_TEST_MODELS:-}/llama-2-tiny-random.gguf
corpus=${PRECIS_TEST_CORPUS:-}
work=$dir/pipeline
mkdir -p "$work"
case $work in /*) ;; *) work=$(pwd)/$work ;; esac
case $precis in /*) ;; *) precis=$(pwd)/$precis ;; esac
case $ik in "" | /*) ;; *) ik=$(pwd)/$ik ;; esac

die() { echo "bench-pipeline: $*" >&2; exit 1; }

# ---- the model and the documents ------------------------------------------------------
model=$dir/tinyllama-1.1b-$type.gguf
case $model in /*) ;; *) model=$(pwd)/$model ;; esac
if [ ! -f "$model" ]; then
    [ -f "$vocab" ] || die "set PRECIS_TEST_MODELS to the directory with llama-2-tiny-random.gguf"
    echo "== generating $model (random weights, benchmark only)" >&2
    "$precis" gen-model --shape tinyllama-1.1b --type "$type" --vocab "$vocab" "$model"
fi
[ -n "$corpus" ] && [ -d "$corpus/pdf/normal" ] || die "set PRECIS_TEST_CORPUS to the corpus directory"
docs=$work/docs
rm -rf "$docs"
mkdir -p "$docs"
for pdf in "$corpus"/pdf/normal/pdfjs_tracemonkey.pdf "$corpus"/pdf/normal/pdfjs_issue13201_bitcoin.pdf; do
    "$precis" extract "$pdf" 2>/dev/null
done | tr -s ' \t\n' '\n\n\n' | awk -v w="$words" -v n="$ndocs" -v d="$docs" '
    NF { i = int(c / w); if (i >= n) exit; f = sprintf("%s/doc-%02d.txt", d, i);
         printf "%s%s", (c % w ? " " : ""), $0 > f; c++ }'
[ "$(ls "$docs" | wc -l)" -eq "$ndocs" ] || die "the corpus PDFs gave fewer than $ndocs documents of $words words"
# The prompts as shipped, the summary's answers capped at BENCH_MAX_TOKENS (run and serve alike).
prompts=$work/prompts
rm -rf "$prompts"
cp -r prompts "$prompts"
sed -i "s/\"max_tokens\": *[0-9]*/\"max_tokens\": $ntg/" "$prompts"/summary.json

# value KEY FILE: the last KEY=value of a log file
value() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" "$2" | tail -n 1; }
# passes_per_token FILE: forward passes per generated token of a run (each
# sequence's passes: the prompt's and its decoding steps, over its tokens)
passes_per_token() { echo "$(value sequences "$1") / $(value generated_tokens "$1")" | bc -l | sed 's/^\./0./' | cut -c1-4; }

results=$work/results.txt
: >"$results"
record() { echo "$*" | tee -a "$results"; }

# ---- precis run --------------------------------------------------------------------------
run_precis() {   # run_precis JOBS ROUND
    log=$work/run-j$1-r$2.log
    PRECIS_ENGINE_PARALLEL=$ndocs PRECIS_ENGINE_THREADS=$threads PRECIS_ENGINE_DRAFT=$draft PRECIS_PIPELINE_PROMPTS_DIR=$prompts \
        "$precis" run --no-store -m "$model" -j "$1" "$docs"/*.txt >"$work/run-j$1-r$2.jsonl" 2>"$log" || die "precis run failed: $(tail -n 3 "$log")"
    s=$(value seconds "$log")
    record "precis-run jobs=$1 round=$2 seconds=$s docs_per_hour=$(echo "$ndocs * 3600 / $s" | bc -l | cut -d. -f1)" \
        "prompt_tokens=$(value prompt_tokens "$log") cached_tokens=$(value cached_tokens "$log")" \
        "generated_tokens=$(value generated_tokens "$log")" \
        "model_calls=$(value model_calls "$log") occupancy=$(echo "$(value sequences "$log") / $(value forward_passes "$log")" | bc -l | cut -c1-4)" \
        "passes_per_token=$(passes_per_token "$log") draft_proposed=$(value draft_proposed "$log") draft_accepted=$(value draft_accepted "$log")"
}

# ---- precis serve (mock broker, throwaway PostgreSQL) ---------------------------------------
serve_pid=""
broker_pid=""
pg_dir=/tmp/precis-bench-pg
cleanup() {
    [ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null || true
    [ -n "$broker_pid" ] && kill "$broker_pid" 2>/dev/null && wait "$broker_pid" 2>/dev/null || true
    [ "$serve" = 1 ] && deploy/pg-throwaway.sh destroy "$pg_dir" >/dev/null 2>&1 || true
}
trap cleanup EXIT INT TERM

serve_setup() {
    deploy/pg-throwaway.sh destroy "$pg_dir" >/dev/null 2>&1 || true
    conninfo=$(deploy/pg-throwaway.sh start "$pg_dir")
    "$precis" broker >"$work/broker.out" 2>"$work/broker.log" &
    broker_pid=$!
    for _ in $(seq 100); do [ -s "$work/broker.out" ] && break; sleep 0.1; done
    bootstrap=$(head -n 1 "$work/broker.out")
    [ -n "$bootstrap" ] || die "precis broker printed no address"
}

serve_precis() {   # serve_precis JOBS ROUND
    log=$work/serve-j$1-r$2.log
    cat >"$work/serve.conf" <<EOF
[kafka]
bootstrap.servers = $bootstrap
jobs_topic = bench.j$1.r$2
group.id = bench-j$1-r$2
[postgres]
conninfo = $conninfo
[engine]
model = $model
threads = $threads
parallel = $ndocs
draft = $draft
[pipeline]
jobs_in_flight = $1
prompts_dir = $prompts
[metrics]
enabled = false
EOF
    psql "$conninfo" -X -q -c "TRUNCATE jobs CASCADE" >/dev/null 2>&1 || true
    "$precis" serve -c "$work/serve.conf" --migrate 2>"$log" &
    serve_pid=$!
    # Timed from when the daemon owns its partitions (a running daemon's steady state).
    for _ in $(seq 600); do grep -q 'msg="partitions assigned"' "$log" && break; sleep 0.1; done
    grep -q 'msg="partitions assigned"' "$log" || die "precis serve did not start: $(tail -n 3 "$log")"
    t0=$(date +%s.%N)
    "$precis" submit -c "$work/serve.conf" "$docs"/*.txt >/dev/null 2>>"$log" || die "precis submit failed"
    # The daemon's own log says when each job is done and committed (polling
    # PostgreSQL with psql several times a second costs the daemon CPU time).
    while :; do
        n=$(grep -cE 'msg="job done"|msg="job failed permanently' "$log" || true)
        [ "$n" -ge "$ndocs" ] && break
        kill -0 "$serve_pid" 2>/dev/null || die "precis serve died: $(tail -n 3 "$log")"
        sleep 0.25
    done
    t1=$(date +%s.%N)
    psql "$conninfo" -X -At -c "SELECT output::text FROM results ORDER BY 1" >"$work/serve-j$1-r$2.results"
    kill "$serve_pid"; wait "$serve_pid" 2>/dev/null || true
    serve_pid=""
    s=$(echo "$t1 - $t0" | bc -l)
    record "precis-serve jobs=$1 round=$2 seconds=$(printf %.2f "$s") docs_per_hour=$(echo "$ndocs * 3600 / $s" | bc -l | cut -d. -f1)" \
        "done=$(psql "$conninfo" -X -At -c "SELECT count(*) FROM jobs WHERE status = 'done'")"
}

# ---- ik_llama.cpp: the same token work -------------------------------------------------------
run_ik() {   # run_ik PROMPT_TOKENS GENERATED_TOKENS ROUND LABEL
    iklog=$work/ik$4-r$3.log
    # (in the work directory: it writes llama.log into the current one)
    (cd "$work" && "$ik" -m "$model" -t "$threads" -c $(( ($1 + $2 + 64) * ndocs )) -b 2048 -ub 512 \
        -npp "$1" -ntg "$2" -npl "1,$ndocs") >"$iklog" 2>&1 || die "ik_llama.cpp failed: $(tail -n 3 "$iklog")"
    # |    PP |     TG |    B |   N_KV |   T_PP s | S_PP t/s |   T_TG s | S_TG t/s |      T s |    S t/s |
    awk -F'|' -v n="$ndocs" -v r="$3" -v pp="$1" -v tg="$2" -v l="$4" '$4 + 0 >= 1 && $2 + 0 == pp {
        b = $4 + 0; t = $10 + 0; dph = b * 3600 / t;
        if (b == 1) printf "ik-llama%s one-after-another round=%s seconds=%.2f docs_per_hour=%d\n", l, r, t * n, dph;
        else printf "ik-llama%s parallel=%d round=%s seconds=%.2f docs_per_hour=%d\n", l, b, r, t, dph }' "$iklog" |
        tee -a "$results"
}

if [ "$serve" = 1 ]; then serve_setup; fi
echo "== bench-pipeline: $ndocs documents of $words words, answers capped at $ntg tokens, $type, $threads threads, draft=$draft" >&2
echo "== host: $(lscpu | sed -n 's/^Model name: *//p' | head -n 1)" >&2
for r in $(seq "$rounds"); do
    run_precis 1 "$r"
    run_precis "$ndocs" "$r"
    if [ "$serve" = 1 ]; then
        serve_precis 1 "$r"
        serve_precis "$ndocs" "$r"
    fi
    if [ -n "$ik" ]; then
        log=$work/run-j$ndocs-r$r.log
        calls=$(value model_calls "$log")
        gen=$(( $(value generated_tokens "$log") / calls ))
        run_ik $(( $(value prompt_tokens "$log") / calls )) "$gen" "$r" ""
        # As if ik's server kept the instructions cached too: only the prompt tokens precis computed.
        run_ik $(( ($(value prompt_tokens "$log") - $(value cached_tokens "$log")) / calls )) "$gen" "$r" "-cached-prefix"
    fi
done

same() {   # same A B: whether two result files are identical
    if cmp -s "$1" "$2"; then echo "identical"; else echo "DIFFERENT"; fi
}
echo
for r in $(seq "$rounds"); do
    record "check round=$r run: jobs=$ndocs results $(same "$work/run-j1-r$r.jsonl" "$work/run-j$ndocs-r$r.jsonl") to jobs=1"
    if [ "$serve" = 1 ]; then
        record "check round=$r serve: jobs=$ndocs results" \
            "$(same "$work/serve-j1-r$r.results" "$work/serve-j$ndocs-r$r.results") to jobs=1"
    fi
done
echo
echo "documents per hour (mean of $rounds rounds; $ndocs documents of $words words, $type, $threads threads):"
grep -v '^check' "$results" | awk '{ k = $1 " " $2; v = $0; sub(/.*docs_per_hour=/, "", v); sub(/ .*/, "", v); s[k] += v; c[k]++ }
     END { for (k in s) printf "  %-40s %8.0f\n", k, s[k] / c[k] }' | sort
