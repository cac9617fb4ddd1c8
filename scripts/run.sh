#!/usr/bin/env bash
# Installs what is missing, builds, and runs varkeeper. With no arguments it runs the embedded
# default; any arguments are passed to the varkeeper binary (e.g. `scripts/run.sh var --help`).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
scripts/setup.sh >&2
scripts/build.sh >&2
if (($# == 0)); then
  # Until the daemon's embedded local chain lands (issue 7): the self-check of the primitives.
  build/varkeeper --help
  exec build/varkeeper selfcheck
fi
exec build/varkeeper "$@"
