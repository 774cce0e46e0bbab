#!/usr/bin/env bash
# The main job on a fresh machine: install, build, then run `tapedeck demo` (the live pipeline -
# `tapedeck run` and `tapedeck feed` - over a deterministic synthetic day, replayed bit-exact) with
# its data under ./var.
set -euo pipefail
cd "$(dirname "$0")/.."
./ops/build.sh
exec ./build/cli/tapedeck --data-dir ./var "$@" demo
