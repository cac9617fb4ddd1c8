#!/usr/bin/env bash
# Installs what is missing, builds, and runs varkeeper. With no arguments it runs the embedded
# default (`varkeeper run`); any arguments are passed to the binary (e.g. `scripts/run.sh var --help`).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
scripts/setup.sh >&2
scripts/build.sh varkeeper varkeeper_contracts >&2
if (($# == 0)); then
  # The embedded default: a local anvil chain, the bundled contracts, a simulated market.
  exec build/varkeeper run
fi
exec build/varkeeper "$@"
