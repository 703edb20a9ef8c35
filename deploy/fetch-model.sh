#!/bin/sh
# fetch-model.sh — download a pinned GGUF model into models/ and install it
# only when its size and SHA-256 are the published ones. `make model` runs
# this, and `make demo` when it finds no model; nothing else needs the network.
#
#   deploy/fetch-model.sh [--model llama2-7b|tinyllama] [DIR]   (DIR: ./models)
#
#   llama2-7b  (default) Llama-2-7B-chat Q4_K_M, 4,081,004,224 bytes: the
#              model the prompts are written for
#   tinyllama  TinyLlama-1.1B-Chat-v1.0 Q4_K_M, 668,788,096 bytes: the demo's
#              small real chat model (Llama architecture, Llama 2 vocabulary,
#              zephyr chat template; the shape `precis gen-model --shape
#              tinyllama-1.1b` benchmarks)
#
# curl shows a progress bar when stderr is a terminal. An interrupted download
# resumes from DIR/NAME.part. Only a file whose size and SHA-256 match is
# moved to DIR/NAME; a mismatch deletes the partial file and exits 1. When
# the host cannot be reached, one line says what to do instead and the exit
# status is 2 (a partial file is kept). The source can be overridden (a
# mirror inside your network):
#   PRECIS_MODEL_URL, PRECIS_MODEL_SHA256, PRECIS_MODEL_SIZE, PRECIS_MODEL_NAME
#
# Where the pinned values come from (public records, not computed here):
#   llama2-7b: TheBloke/Llama-2-7B-Chat-GGUF at revision 191239b3.
#   tinyllama: TheBloke/TinyLlama-1.1B-Chat-v1.0-GGUF at revision 52e7645b
#     (the repository's head since 2023-12-31). The resolve URL at that
#     revision with SHA-256 9fecc3b3...76a0 is pinned by github.com/saiyam1814/kiac
#     pkg/cluster/gpu_bench.go (commit 19ae43e5); the same SHA-256 with the size
#     668788096 by github.com/dddimcha/embodiOS scripts/download-models.sh
#     (commit 322bfc2b); Hugging Face's file list shows the file as 669 MB.
set -eu

model=llama2-7b
while [ $# -gt 0 ]; do
    case $1 in
        --model) [ $# -ge 2 ] || { echo "fetch-model: --model needs a name (llama2-7b or tinyllama)" >&2; exit 1; }
                 model=$2; shift 2 ;;
        --model=*) model=${1#--model=}; shift ;;
        -*) echo "usage: deploy/fetch-model.sh [--model llama2-7b|tinyllama] [DIR]" >&2; exit 1 ;;
        *) break ;;
    esac
done
dir=${1:-models}

case $model in
    llama2-7b)
        what="Llama-2-7B-chat Q4_K_M (4.1 GB)"
        d_name=llama-2-7b-chat.Q4_K_M.gguf
        d_url=https://huggingface.co/TheBloke/Llama-2-7B-Chat-GGUF/resolve/191239b3e26b2882fb562ffccdd1cf0f65402adb/$d_name
        d_sha256=08a5566d61d7cb6b420c3e4387a39e0078e1f2fe5f055f3a03887385304d4bfa
        d_size=4081004224 ;;
    tinyllama)
        what="TinyLlama-1.1B-Chat-v1.0 Q4_K_M (669 MB)"
        d_name=tinyllama-1.1b-chat-v1.0.Q4_K_M.gguf
        d_url=https://huggingface.co/TheBloke/TinyLlama-1.1B-Chat-v1.0-GGUF/resolve/52e7645ba7c309695bec7ac98f4f005b139cf465/$d_name
        d_sha256=9fecc3b3cd76bba89d504f29b616eedf7da85b96540e490ca5824d3f7d2776a0
        d_size=668788096 ;;
    *)
        echo "fetch-model: unknown model '$model' (llama2-7b or tinyllama)" >&2
        exit 1 ;;
esac
name=${PRECIS_MODEL_NAME:-$d_name}
url=${PRECIS_MODEL_URL:-$d_url}
sha256=${PRECIS_MODEL_SHA256:-$d_sha256}
size=${PRECIS_MODEL_SIZE:-$d_size}

say() { printf 'fetch-model: %s\n' "$*" >&2; }

command -v curl >/dev/null || { say "curl is not installed (apt-get install curl)"; exit 1; }
command -v sha256sum >/dev/null || { say "sha256sum is not installed (coreutils)"; exit 1; }
mkdir -p "$dir"
target=$dir/$name
part=$target.part

if [ -f "$target" ]; then
    say "$target exists; checking it"
    if printf '%s  %s\n' "$sha256" "$target" | sha256sum --check --status; then
        say "$target is already the right file (sha256 $sha256)"
        exit 0
    fi
    say "$target has the wrong sha256; remove it and run again"
    exit 1
fi

have=0
[ -f "$part" ] && have=$(wc -c < "$part" | tr -d ' ')
if [ "$have" != "$size" ]; then
    # One byte first: a host that cannot be reached gets one line saying what
    # to do, not curl's error, before anything else is printed.
    rc=0
    curl --silent --location --range 0-0 --connect-timeout 20 --max-time 60 --output /dev/null "$url" || rc=$?
    case $rc in
        5|6|7|28|35|52|56)
            host=$(printf '%s\n' "$url" | sed 's#^[A-Za-z]*://##; s#[/:?].*##')
            resumes=""
            [ "$have" != 0 ] && resumes=" (it resumes $part)"
            say "cannot reach $host (offline?; curl exit $rc): when online run 'make model MODEL=$model'$resumes, or set PRECIS_MODEL=/path/to/model.gguf, or set PRECIS_TEST_MODELS to the test models (random weights)"
            exit 2 ;;
    esac
    say "downloading $what"
    say "from $url"
    say "to $part ($size bytes expected; resumes if interrupted)"
    if [ -t 2 ]; then progress=--progress-bar; else progress="--silent --show-error"; fi
    # shellcheck disable=SC2086 # $progress is one or two options
    curl --fail --location --continue-at - --retry 3 --connect-timeout 20 $progress --output "$part" "$url" || {
        say "download failed (the partial file $part is kept; run again to resume)"
        exit 1
    }
fi

got=$(wc -c < "$part" | tr -d ' ')
if [ "$got" != "$size" ]; then
    say "size is $got bytes, expected $size; deleting $part"
    rm -f "$part"
    exit 1
fi
say "checking sha256"
if ! printf '%s  %s\n' "$sha256" "$part" | sha256sum --check --status; then
    say "sha256 mismatch (expected $sha256); deleting $part"
    rm -f "$part"
    exit 1
fi
mv "$part" "$target"
say "ok: $target (sha256 $sha256)"
say "precis finds it there (the largest *.gguf in ./models), or set [engine] model = $(pwd)/$target"
