#!/usr/bin/env bash
# The main job on a fresh machine: install, build, then run `tapedeck demo` (a deterministic
# synthetic day through the engine, replayed bit-exact) with its tape under ./var.
set -euo pipefail
cd "$(dirname "$0")/.."
./ops/build.sh
exec ./build/cli/tapedeck --data-dir ./var "$@" demo
