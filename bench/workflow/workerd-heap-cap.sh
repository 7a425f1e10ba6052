#!/bin/sh
# A workerd with a V8 heap ceiling (bench:workflow --heap-mb), for MINIFLARE_WORKERD_PATH: the config
# Miniflare writes to stdin gets `v8Flags` (workerd-heap-cap.mjs), then this process becomes workerd
# (exec), so Miniflare's signals and its control pipe (fd 3) reach workerd itself.
here=$(dirname "$0")
config=$(mktemp) || exit 1
node "$here/workerd-heap-cap.mjs" config > "$config" || { rm -f "$config"; exit 1; }
workerd=$(node "$here/workerd-heap-cap.mjs" path) || { rm -f "$config"; exit 1; }
exec 0< "$config"
rm -f "$config"
exec "$workerd" "$@"
