#!/bin/sh
# find-model.sh — the model `make demo` runs on; prints its path on stdout.
# Run from the repository root (run-demo.sh does); first found wins, as
# precis itself picks (daemon/pipeline_setup.h):
#
#   1. PRECIS_MODEL
#   2. the largest *.gguf in ./models
#   3. the test suite's random model, $PRECIS_TEST_MODELS/synth-d256-q8_0.gguf
#      (PRECIS_TEST_MODELS defaults to ../shared/models when that holds it)
#   4. none of them: download TinyLlama-1.1B-Chat-v1.0 Q4_K_M (669 MB) into
#      ./models with deploy/fetch-model.sh --model tinyllama (progress bar,
#      resumes, size and SHA-256 checked). Offline, fetch-model.sh says in one
#      line what to do instead and this exits non-zero.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
test_model=synth-d256-q8_0.gguf

if [ -n "${PRECIS_MODEL:-}" ]; then
    [ -f "$PRECIS_MODEL" ] || { echo "demo: PRECIS_MODEL=$PRECIS_MODEL: no such file" >&2; exit 1; }
    printf '%s\n' "$PRECIS_MODEL"
    exit 0
fi

largest() {   # the largest regular *.gguf directly in ./models, if any
    [ -d models ] || return 0
    find models -maxdepth 1 -type f -name '*.gguf' -printf '%s %p\n' | sort -nr | head -n 1 | cut -d' ' -f2-
}

found=$(largest)
if [ -n "$found" ]; then
    printf '%s\n' "$found"
    exit 0
fi

tests=${PRECIS_TEST_MODELS:-}
[ -z "$tests" ] && [ -f "../shared/models/$test_model" ] && tests=$(cd ../shared/models && pwd)
if [ -n "$tests" ] && [ -f "$tests/$test_model" ]; then
    printf '%s\n' "$tests/$test_model"
    exit 0
fi

"$here/../fetch-model.sh" --model tinyllama models >&2
found=$(largest)
[ -n "$found" ] || { echo "demo: deploy/fetch-model.sh installed no model in ./models" >&2; exit 1; }
printf '%s\n' "$found"
