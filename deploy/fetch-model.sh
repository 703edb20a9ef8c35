#!/bin/sh
# fetch-model.sh — download the model precis is written for (Llama-2-7B-chat,
# Q4_K_M GGUF, from TheBloke's Hugging Face repository at a pinned revision)
# into models/, and refuse it unless its size and SHA-256 are the published
# ones. `make model` runs this; nothing else needs the network.
#
#   deploy/fetch-model.sh [DIR]          (default DIR: ./models)
#
# An interrupted download resumes from DIR/NAME.part. Only a file whose
# SHA-256 matches is moved to DIR/NAME; a mismatch deletes the partial file
# and exits 1. The source can be overridden (a mirror inside your network):
#   PRECIS_MODEL_URL, PRECIS_MODEL_SHA256, PRECIS_MODEL_SIZE, PRECIS_MODEL_NAME
set -eu

name=${PRECIS_MODEL_NAME:-llama-2-7b-chat.Q4_K_M.gguf}
revision=191239b3e26b2882fb562ffccdd1cf0f65402adb
url=${PRECIS_MODEL_URL:-https://huggingface.co/TheBloke/Llama-2-7B-Chat-GGUF/resolve/$revision/$name}
sha256=${PRECIS_MODEL_SHA256:-08a5566d61d7cb6b420c3e4387a39e0078e1f2fe5f055f3a03887385304d4bfa}
size=${PRECIS_MODEL_SIZE:-4081004224}
dir=${1:-models}

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

say "downloading $url"
say "to $part ($size bytes expected; resumes if interrupted)"
curl --fail --location --continue-at - --retry 3 --output "$part" "$url" || {
    say "download failed (the partial file $part is kept; run again to resume)"
    exit 1
}

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
