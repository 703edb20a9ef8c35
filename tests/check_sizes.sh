#!/usr/bin/env bash
# check_sizes.sh — no source file outside tests/ is over 800 lines: a file
# that grows past that holds more than one concern and is split (see
# docs/architecture.md). Run from the repository root (make check does).
set -u
limit=800
status=0
while read -r lines file; do
    [ "$file" = total ] && continue
    if [ "$lines" -gt "$limit" ]; then
        echo "$file: $lines lines (limit $limit)"
        status=1
    fi
done < <(find common engine extractors store pipeline daemon cli tools -name '*.[ch]' -print0 | xargs -0 wc -l)
[ "$status" -eq 0 ] && echo "sizes: no source file outside tests/ over $limit lines"
exit "$status"
