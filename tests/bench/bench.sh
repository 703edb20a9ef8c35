#!/bin/sh
# bench.sh — `make bench`: engine speed on random-weight TinyLlama-1.1B-shape
# models (generated once by `precis gen-model` into MODELS_DIR and reused),
# PDF extraction speed over the test corpus, and one table of the results.
#
# usage: tests/bench/bench.sh PRECIS MODELS_DIR [precis bench options...]
#   PRECIS_TEST_MODELS   directory holding llama-2-tiny-random.gguf (vocabulary)
#   PRECIS_TEST_CORPUS   if set, pdf/normal/*.pdf are extracted and timed
#   BENCH_TYPES          model types (default "q4_0 q8_0 q4_k_m")
# Raw `precis bench --json` results are kept in MODELS_DIR/bench-TYPE.json.
set -eu

precis=$1
dir=$2
shift 2
types=${BENCH_TYPES:-q4_0 q8_0 q4_k_m}
vocab=${PRECIS_TEST_MODELS:-}/llama-2-tiny-random.gguf
mkdir -p "$dir"

for t in $types; do
    model=$dir/tinyllama-1.1b-$t.gguf
    if [ ! -f "$model" ]; then
        if [ ! -f "$vocab" ]; then
            echo "bench: set PRECIS_TEST_MODELS to the directory with llama-2-tiny-random.gguf" >&2
            exit 1
        fi
        echo "== generating $model (random weights, benchmark only)" >&2
        "$precis" gen-model --shape tinyllama-1.1b --type "$t" --vocab "$vocab" "$model"
    fi
    echo "== precis bench -m $model $*" >&2
    "$precis" bench -m "$model" --json "$@" > "$dir/bench-$t.json"
done

# Extraction: with BENCH_EXTRACT (make bench sets it), pdftotext, the
# extraction server and `precis extract` side by side; without, the wall time
# of `precis extract` (sandboxed, one process per file) over the corpus.
# Pages counted beforehand with pdfinfo.
extract_json=$dir/bench-extract.json
rm -f "$extract_json"
if [ -n "${PRECIS_TEST_CORPUS:-}" ] && [ -d "$PRECIS_TEST_CORPUS/pdf/normal" ]; then
    pages=0
    files=0
    for pdf in "$PRECIS_TEST_CORPUS"/pdf/normal/*.pdf; do
        n=$(pdfinfo "$pdf" 2>/dev/null | awk '/^Pages:/ { print $2 }')
        pages=$((pages + ${n:-0}))
        files=$((files + 1))
    done
    if [ -n "${BENCH_EXTRACT:-}" ]; then
        # pdftotext, the extraction server (daemon path) and precis extract,
        # interleaved file by file (tests/bench/bench_extract.c).
        echo "== $BENCH_EXTRACT over $files PDFs ($pages pages), ${EXTRACT_ROUNDS:-3} rounds" >&2
        "$BENCH_EXTRACT" "$PRECIS_TEST_CORPUS/pdf/normal" "${EXTRACT_ROUNDS:-3}" "$precis" --json > "$extract_json"
    else
    echo "== precis extract over $files PDFs ($pages pages)" >&2
    start=$(date +%s.%N)
    failed=0
    for pdf in "$PRECIS_TEST_CORPUS"/pdf/normal/*.pdf; do
        "$precis" extract "$pdf" > /dev/null 2>&1 || failed=$((failed + 1))
    done
    end=$(date +%s.%N)
    echo "{\"files\": $files, \"pages\": $pages, \"failed\": $failed, \"seconds\": $(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }')}" > "$extract_json"
    fi
fi

python3 - "$dir" $types <<'EOF'
import json, os, sys
d, types = sys.argv[1], sys.argv[2:]
rows = []
threads = "?"
for t in types:
    r = json.load(open(os.path.join(d, "bench-%s.json" % t)))
    threads = r["threads"]
    name = "tinyllama-1.1b %s (%.0f MiB)" % (t, r["file_bytes"] / 1048576)
    rate = lambda wall, cpu: "%.2f tok/s (%.2f tok/CPU-s)" % (wall, cpu)
    rows.append((name, "prefill pp%d" % r["n_prompt"], rate(r["pp_tok_s"], r["pp_tok_per_cpu_s"])))
    rows.append((name, "decode tg%d" % r["n_gen"], rate(r["tg_tok_s"], r["tg_tok_per_cpu_s"])))
    if "gen_tok_s" in r and r["n_gen"] > 0:
        rows.append((name, "generation loop gen%d, drafts %s" % (r["n_gen"], "on" if r["draft"] else "off"),
                     rate(r["gen_tok_s"], r["gen_tok_per_cpu_s"]) +
                     ", %.2f passes per token" % r["gen_passes_per_token"]))
    for b in r["batched"]:
        rows.append((name, "decode B=%d (%s), aggregate" % (b["n_seq"], r["batch_mode"]),
                     rate(b["decode_tok_s"], b["decode_tok_per_cpu_s"])))
    rows.append((name, "RSS after load / peak",
                 "%.0f / %.0f MiB" % (r["rss_after_load_mib"], r["peak_rss_mib"])))
p = os.path.join(d, "bench-extract.json")
if os.path.exists(p):
    e = json.load(open(p))
    what = "corpus pdf/normal: %d PDFs, %d pages" % (e["files"], e["pages"])
    if "server_s" in e:  # bench-extract: side by side, pages summed over the rounds
        what = "corpus pdf/normal: %d PDFs, %d pages, %d rounds" % (e["files"], e["pages"] // e["rounds"], e["rounds"])
        ref = e["pages"] / e["pdftotext_s"]
        for name, key in (("pdftotext (process per file)", "pdftotext_s"),
                          ("precis, extraction server (daemon path)", "server_s"),
                          ("precis extract (process per file)", "cli_s")):
            if e[key] > 0:
                rate = e["pages"] / e[key]
                rows.append((what, name, "%.2f pages/s (%.2fx pdftotext)" % (rate, rate / ref)))
        if e["failed"]:
            rows.append((what, "failures", "%d" % e["failed"]))
    else:
        res = "%.2f pages/s" % (e["pages"] / e["seconds"]) if e["seconds"] > 0 else "n/a"
        if e["failed"]:
            res += " (%d files failed)" % e["failed"]
        rows.append((what, "precis extract", res))
else:
    rows.append(("PDF extraction", "precis extract", "skipped (PRECIS_TEST_CORPUS unset)"))
w = [max(len(r[i]) for r in rows + [("model / input", "benchmark", "result")]) for i in range(3)]
line = lambda r: "| " + " | ".join(r[i].ljust(w[i]) for i in range(3)) + " |"
print("\nengine threads: %s; load average at the end: %s" % (threads, open("/proc/loadavg").read().split()[0]))
print(line(("model / input", "benchmark", "result")))
print("|" + "|".join("-" * (x + 2) for x in w) + "|")
for r in rows:
    print(line(r))
EOF
