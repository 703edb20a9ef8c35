#!/usr/bin/env bash
# run-demo.sh — the whole product on one machine, for `make demo`:
#
#   1. a throwaway PostgreSQL under var/demo/pg (Unix socket only; see
#      deploy/pg-throwaway.sh), recreated empty on every run
#   2. the demo .txt documents rendered to PDF (text2pdf, built by make)
#   3. `precis broker` — the in-memory mock Kafka broker, its own process
#   4. `precis serve --migrate` against both, with the model it finds
#   5. `precis submit` of the PDFs (the article: summary; the judgment:
#      legal_review with its counterfactual twin) and the consultation
#      responses (consultation)
#   6. wait until every job is done or dead, print the jobs, the stored
#      summaries and findings straight from PostgreSQL (psql over the socket),
#      and write the HTML reports under var/demo/reports (`precis report
#      --collection demo`, `precis themes --html`)
#   7. stop serve, the broker and PostgreSQL cleanly (also on failure or ^C)
#
# The model (deploy/demo/find-model.sh): PRECIS_MODEL, else the largest
# *.gguf in ./models, else $PRECIS_TEST_MODELS/synth-d256-q8_0.gguf
# (PRECIS_TEST_MODELS defaults to ../shared/models when that exists), else
# TinyLlama-1.1B-Chat Q4_K_M (669 MB) downloaded into ./models; offline, one
# line says what to do and the demo exits non-zero. The test model has random
# weights: the demo then says plainly that its summaries are meaningless.
#
# Environment: BUILD (build dir holding text2pdf, default build),
# DEMO_TIMEOUT (seconds to wait for the jobs; default 240 plus one per MiB of
# the model: about 4 min for the test model, 15 for TinyLlama, 70 for the 7B
# on two cores — an upper bound, not the expected time).
set -euo pipefail

cd "$(dirname "$0")/../.."
root=$PWD
BUILD=${BUILD:-build}
PRECIS=$root/precis
TEXT2PDF=$root/$BUILD/text2pdf
var=$root/var/demo
docs_src=$root/deploy/demo/documents

say() { printf '\n== %s\n' "$*"; }
die() { printf 'demo: %s\n' "$*" >&2; exit 1; }

[ -x "$PRECIS" ] || die "$PRECIS is missing: run 'make demo' (or 'make' first)"
[ -x "$TEXT2PDF" ] || die "$TEXT2PDF is missing: run 'make demo'"
command -v psql >/dev/null || die "psql not found (apt-get install postgresql-client)"

# ---- the model -----------------------------------------------------------------
# Found, or downloaded; offline find-model.sh has said in one line what to do.
model=$(deploy/demo/find-model.sh) || exit $?
export PRECIS_MODEL=$model
DEMO_TIMEOUT=${DEMO_TIMEOUT:-$(( 240 + $(wc -c <"$model") / 1048576 ))}

# ---- processes we own, stopped on any exit ----------------------------------------
pg_dir=""
serve_pid=""
broker_pid=""

stop_pid() {   # stop_pid PID NAME: SIGTERM, wait up to 30 s, then SIGKILL
    local pid=$1 name=$2
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 300); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        echo "demo: $name did not stop; killing it" >&2
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    stop_pid "$serve_pid" "precis serve"
    stop_pid "$broker_pid" "precis broker"
    if [ -n "$pg_dir" ]; then
        deploy/pg-throwaway.sh stop "$pg_dir" >/dev/null 2>&1 || true
    fi
    if [ $rc -ne 0 ]; then
        echo "demo: FAILED (exit $rc); logs in $var" >&2
    fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$var"
rm -f "$var"/*.log "$var"/broker.out "$var"/jobs.txt
start_time=$(date +%s)

# ---- 1. PostgreSQL ------------------------------------------------------------------
# The server runs as "postgres" when we are root: it must reach the directory,
# and the socket path must fit in 107 bytes. Otherwise use /tmp.
pg_dir=$var/pg
if [ ${#pg_dir} -gt 80 ] || { [ "$(id -u)" -eq 0 ] && id -u postgres >/dev/null 2>&1 &&
                               ! runuser -u postgres -- test -x "$var"; }; then
    pg_dir=/tmp/precis-demo-pg-$(id -u)
fi
say "starting a throwaway PostgreSQL in $pg_dir"
deploy/pg-throwaway.sh destroy "$pg_dir" >/dev/null 2>&1 || true
conninfo=$(deploy/pg-throwaway.sh start "$pg_dir")
echo "conninfo: $conninfo"
sql() { psql "$conninfo" -X -v ON_ERROR_STOP=1 -q "$@"; }

# ---- 2. documents ------------------------------------------------------------------
say "rendering the demo documents to PDF"
mkdir -p "$var/docs"
rm -f "$var"/docs/*
for txt in "$docs_src"/*.txt; do
    pdf=$var/docs/$(basename "${txt%.txt}").pdf
    "$TEXT2PDF" "$txt" "$pdf"
    echo "$(basename "$pdf") ($(wc -c <"$pdf") bytes)"
done
cp "$docs_src"/*.jsonl "$var/docs/"

# ---- 3. Kafka (mock) ------------------------------------------------------------------
say "starting the mock Kafka broker (precis broker; in memory, not durable)"
"$PRECIS" broker >"$var/broker.out" 2>"$var/broker.log" &
broker_pid=$!
for _ in $(seq 100); do
    [ -s "$var/broker.out" ] && break
    kill -0 "$broker_pid" 2>/dev/null || die "precis broker exited: $(tail -n 3 "$var/broker.log")"
    sleep 0.1
done
bootstrap=$(head -n 1 "$var/broker.out")
[ -n "$bootstrap" ] || die "precis broker printed no address"
echo "bootstrap servers: $bootstrap"

cat >"$var/precis.conf" <<EOF
# written by deploy/demo/run-demo.sh
[kafka]
bootstrap.servers = $bootstrap
[postgres]
conninfo = $conninfo
[pipeline]
input_root = $var/docs
shutdown_grace = 20
[metrics]
enabled = false
EOF

# ---- 4. the daemon --------------------------------------------------------------------
say "starting precis serve (migrates the database, loads the model once)"
"$PRECIS" serve -c "$var/precis.conf" --migrate 2>"$var/serve.log" &
serve_pid=$!
for _ in $(seq 1200); do
    grep -q 'msg=serving' "$var/serve.log" && break
    kill -0 "$serve_pid" 2>/dev/null || die "precis serve exited: $(tail -n 5 "$var/serve.log")"
    sleep 0.1
done
grep -q 'msg=serving' "$var/serve.log" || die "precis serve did not start within 120 s"
grep 'msg="model loaded"' "$var/serve.log" | sed 's/^/  /'
toy=0
if grep -q 'TINY TEST MODEL' "$var/serve.log"; then
    toy=1
    echo
    echo "  NOTE: this is a tiny random-weight TEST model. Everything works end to end, but the"
    echo "        summaries it writes are NOT meaningful text. For real ones: 'make model"
    echo "        MODEL=tinyllama' (669 MB) or 'make model' (Llama-2-7B-chat, 4.1 GB) puts a real"
    echo "        chat model in ./models, which the demo then prefers; or set PRECIS_MODEL."
else
    echo "  model: $model (a real chat model; waiting at most $DEMO_TIMEOUT s for the jobs)"
fi

# ---- 5. jobs ----------------------------------------------------------------------------
say "submitting the documents (precis submit)"
"$PRECIS" submit -c "$var/precis.conf" --collection demo "$var"/docs/article-*.pdf >>"$var/jobs.txt"
echo true >"$var/twin.json"   # the review's own parties become Party A, B...
"$PRECIS" submit -c "$var/precis.conf" --collection demo -a legal_review --twin "$var/twin.json" \
    "$var"/docs/judgment-*.pdf >>"$var/jobs.txt"
"$PRECIS" submit -c "$var/precis.conf" --collection bus-consultation -a consultation "$var"/docs/*.jsonl \
    >>"$var/jobs.txt"
njobs=$(wc -l <"$var/jobs.txt")
echo "$njobs jobs submitted:"
sed 's/^/  /' "$var/jobs.txt"

# ---- 6. wait, then show what PostgreSQL holds --------------------------------------------
say "waiting for the daemon to finish every job (at most $DEMO_TIMEOUT s)"
deadline=$(( $(date +%s) + DEMO_TIMEOUT ))
shown=-1
while :; do
    finished=$(sql -At -c "SELECT count(*) FROM jobs WHERE status IN ('done', 'dead')" 2>/dev/null || echo 0)
    if [ "$finished" != "$shown" ]; then
        echo "  $finished/$njobs jobs finished ($(( $(date +%s) - start_time )) s since the demo started)"
        shown=$finished
    fi
    [ "$finished" -ge "$njobs" ] && break
    kill -0 "$serve_pid" 2>/dev/null || die "precis serve died: $(tail -n 5 "$var/serve.log")"
    [ "$(date +%s)" -lt "$deadline" ] || die "timed out waiting for the jobs"
    sleep 0.5
done

say "jobs (from PostgreSQL)"
sql -P pager=off -c "
SELECT j.source, j.collection, j.status, j.attempts,
       to_char(extract(epoch FROM j.finished_at - j.started_at), 'FM990.00') AS seconds,
       coalesce(j.error_class || ': ' || left(j.error, 60), '') AS error
  FROM jobs j ORDER BY j.created_at, j.source"

say "documents and results"
sql -P pager=off -c "
SELECT d.source, d.format, d.pages, left(coalesce(d.title, ''), 40) AS title, r.analysis, r.model_name,
       r.prompt_tokens AS tokens_in, r.completion_tokens AS tokens_out,
       r.prompt_ms + r.completion_ms AS model_ms, r.timings->>'chunks' AS chunks
  FROM results r JOIN documents d ON d.id = r.document_id ORDER BY d.source"

say "summaries (results.output->>'summary')"
sql -At -F '' -P pager=off -c "
SELECT '--- ' || d.source || E'\n' || (r.output->>'summary') || E'\n'
  FROM results r JOIN documents d ON d.id = r.document_id
 WHERE r.analysis = 'summary' ORDER BY d.source" | fold -s -w 100
if [ $toy -eq 1 ]; then
    echo "(The summaries above come from a random-weight TEST model: they are not meaningful.)"
fi

say "legal review of the judgment (legal_findings; identity_sensitive from its twin)"
sql -P pager=off -c "
SELECT f.category, f.severity, f.verified, coalesce(f.page::text, '-') AS page,
       coalesce(f.identity_sensitive::text, '-') AS identity_sensitive, left(f.quote, 60) AS quote
  FROM legal_findings f ORDER BY f.finding_index"
sql -At -c "
SELECT '  twin: ' || (r.output->'twin'->>'substitutions') || ' substitutions, '
       || (r.output->'twin'->>'identity_sensitive') || ' findings differ'
  FROM results r WHERE r.analysis = 'legal_review'"

mkdir -p "$var/reports"
say "consultation themes (precis themes bus-consultation)"
"$PRECIS" themes -c "$var/precis.conf" bus-consultation --html "$var/reports/consultation-themes.html" \
    2>&1 | sed 's/^/  /' || die "precis themes failed"

say "reports a reader can open (HTML, no script, nothing loaded from the network)"
"$PRECIS" report -c "$var/precis.conf" --collection demo --html "$var/reports" 2>&1 | sed 's/^/  /' \
    || die "precis report failed"
for page in "$var"/reports/*.html; do echo "  file://$page"; done

dead=$(sql -At -c "SELECT count(*) FROM jobs WHERE status <> 'done'")

# ---- 7. stop ------------------------------------------------------------------------------
say "stopping precis serve, the broker and PostgreSQL"
stop_pid "$serve_pid" "precis serve"
serve_pid=""
stop_pid "$broker_pid" "precis broker"
broker_pid=""
deploy/pg-throwaway.sh stop "$pg_dir"
pg_dir_kept=$pg_dir
pg_dir=""
echo "stopped. Data kept in $pg_dir_kept (deploy/pg-throwaway.sh start $pg_dir_kept to look again);"
echo "logs in $var."
say "demo finished in $(( $(date +%s) - start_time )) s: $njobs jobs, $(( njobs - dead )) done, $dead not done"
[ "$dead" -eq 0 ]
