#!/usr/bin/env bash
# check_layers.sh — no #include points up the layers (docs/architecture.md).
# A file may include headers of its own top-level folder and of the folders
# this table allows, never of a layer above it:
#   common      -> (nothing else)
#   engine      -> common                 (knows nothing of documents, SQL or Kafka)
#   extractors  -> common
#   store       -> common                 (plain records in and out)
#   pipeline    -> common engine extractors store
#   daemon      -> common engine extractors store pipeline   (the serving runtime)
#   cli         -> ... daemon                                (dispatcher, user commands)
#   tools       -> ... daemon cli                            (developer tools)
# Run from the repository root (make check does). Prints every violation as
# FILE:LINE: #include "..." and exits 1 when there is one.
set -u
allowed() {
    case "$1" in
        common) echo "common" ;;
        engine | extractors | store) echo "common $1" ;;
        pipeline) echo "common engine extractors store pipeline" ;;
        daemon) echo "common engine extractors store pipeline daemon" ;;
        cli) echo "common engine extractors store pipeline daemon cli" ;;
        tools) echo "common engine extractors store pipeline daemon cli tools" ;;
    esac
}
status=0
for layer in common engine extractors store pipeline daemon cli tools; do
    [ -d "$layer" ] || continue
    ok=" $(allowed "$layer") "
    while IFS=: read -r file line text; do
        target=${text#*\"}
        target=${target%%/*}
        case "$ok" in
            *" $target "*) ;;
            *) echo "$file:$line: $text (a $layer file may not include $target/)"; status=1 ;;
        esac
    done < <(find "$layer" -name '*.[ch]' -print0 | xargs -0 grep -Hn '^[[:space:]]*#[[:space:]]*include[[:space:]]*"[a-z_]*/' || true)
done
if [ "$status" -eq 0 ]; then
    echo "layers: no include points up (common < engine, extractors, store < pipeline < daemon < cli < tools)"
fi
exit "$status"
