#!/usr/bin/env bash
# install-deps.sh — install every Debian 12 package precis needs to build,
# test and run. Idempotent; quiet on success; uses sudo when not root.
#   --check-only   exit 0 if everything is installed, 1 otherwise (installs nothing)
set -euo pipefail

PACKAGES=(
  build-essential pkg-config git ca-certificates curl
  libpq-dev librdkafka-dev libxml2-dev libpoppler-glib-dev libglib2.0-dev
  libcjson-dev libopenblas-dev libzip-dev libmicrohttpd-dev libsystemd-dev
  libcairo2-dev
  libtesseract-dev libleptonica-dev tesseract-ocr-eng tesseract-ocr-fra tesseract-ocr-deu
  libcriterion-dev clang
  postgresql kcat poppler-utils python3 python3-sentencepiece
  systemd python3-yaml
  chromium
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ "${1:-}" = "--check-only" ]; then
  [ ${#missing[@]} -eq 0 ] && exit 0
  echo "missing packages: ${missing[*]}" >&2
  exit 1
fi
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "installing: ${missing[*]}" >&2
log=$(mktemp)
if ! { $SUDO apt-get update -qq && \
       $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
  cat "$log" >&2
  rm -f "$log"
  echo "install-deps: apt-get failed" >&2
  exit 1
fi
rm -f "$log"
