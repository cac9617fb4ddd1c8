#!/usr/bin/env bash
# varkeeper set-up: installs every Debian package and the pinned npm tools the project needs.
# Idempotent: a second run changes nothing and takes seconds.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"

debs=(g++ cmake make ccache pkg-config git ca-certificates
      libboost-dev nlohmann-json3-dev libsecp256k1-dev libeigen3-dev doctest-dev
      libssl-dev libcrypto++-dev libsqlite3-dev libcli11-dev libspdlog-dev
      libtomlplusplus-dev libbenchmark-dev python3-numpy python3-prometheus-client openssl curl
      chromium jq python3 clang-format clang-tidy clang-tools)

# Node.js and npm: the machine's own if present (a NodeSource nodejs already bundles npm, and
# Debian's npm package would conflict with it), else Debian's.
command -v node >/dev/null 2>&1 || debs+=(nodejs)
command -v npm >/dev/null 2>&1 || debs+=(npm)

missing=()
for p in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# npm tools pinned by package-lock.json (anvil, forge, cast, solc-js, forge-std, OpenZeppelin).
stamp=node_modules/.varkeeper-lock
if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
  echo "setup: installing pinned npm tools (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json "$stamp"
fi
for t in anvil forge cast; do
  [ -x "node_modules/.bin/$t" ] || { echo "setup: node_modules/.bin/$t missing after npm ci" >&2; exit 1; }
done
echo "setup: ok"
