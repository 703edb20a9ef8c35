#!/usr/bin/env bash
# check_status.sh — one module writes a job's status (docs/architecture.md):
# the SQL that changes a jobs row lives in store/store_jobs.c, and outside
# store/ only pipeline/job_run.c (the job runner) calls the store functions
# that run it. Tests are exempt. Run from the repository root (make check
# does). Prints every violation as FILE:LINE: text and exits 1 when there is one.
set -u
status=0
report() {
    while IFS= read -r hit; do
        echo "$hit ($1)"
        status=1
    done
}
sources() {
    find common engine extractors store pipeline daemon cli tools -name '*.[ch]' 2>/dev/null
}
report "only store/store_jobs.c writes the jobs table" < <(
    sources | grep -v '^store/store_jobs\.c$' | xargs grep -HnE '(UPDATE|INSERT INTO|DELETE FROM)[[:space:]]+jobs\b' || true)
report "only the job runner, pipeline/job_run.c, records a job's status" < <(
    sources | grep -vE '^(store/|pipeline/job_run\.c$)' |
        xargs grep -HnE '\bstore_job_(start|done|done_consultation|failed)[[:space:]]*\(' || true)
if [ "$status" -eq 0 ]; then
    echo "status: a job's status is written by pipeline/job_run.c alone (through store/store_jobs.c)"
fi
exit "$status"
