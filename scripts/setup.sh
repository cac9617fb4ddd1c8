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

# npm tools pinned by package-lock.json (anvil, forge, cast, solc-js 0.8 and 0.6, forge-std,
# OpenZeppelin, playwright-core for the browser test of the web view, which drives the Debian
# chromium above).
stamp=node_modules/.varkeeper-lock
if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
  echo "setup: installing pinned npm tools (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json "$stamp"
fi
[ -f node_modules/playwright-core/package.json ] || { echo "setup: playwright-core missing after npm ci" >&2; exit 1; }
for t in anvil forge cast; do
  [ -x "node_modules/.bin/$t" ] || { echo "setup: node_modules/.bin/$t missing after npm ci" >&2; exit 1; }
done

# Chainlink's own Solidity 0.6 feed contracts (EACAggregatorProxy, MockV3Aggregator), the peers of
# the phase-change test (contracts/tools/chainlink_v06.js compiles them with solc-js 0.6.6, the
# npm alias solc-0.6 above). Not an npm dependency: installing it would fetch a dependency from
# outside the npm registry. The tarball is fetched with `npm pack`, checked against the pinned
# integrity and unpacked whole or not at all; npm ci empties node_modules, so it comes back then.
chainlink_spec=@chainlink/contracts@0.8.0
chainlink_sri=sha512-nUv1Uxw5Mn92wgLs2bgPYmo8hpdQ3s9jB/lcbdU0LmNOVu0hbfmouVnqwRLa28Ll50q6GczUA+eO0ikNIKLZsA==
chainlink_dir=node_modules/@chainlink/contracts
if ! grep -qs '"version": "0.8.0"' "$chainlink_dir/package.json"; then
  echo "setup: fetching $chainlink_spec (npm pack)"
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  tgz="$tmp/$(npm pack "$chainlink_spec" --pack-destination "$tmp" --silent --loglevel=error)"
  got="sha512-$(openssl dgst -sha512 -binary "$tgz" | base64 -w0)"
  if [ "$got" != "$chainlink_sri" ]; then
    echo "setup: $chainlink_spec integrity $got, expected $chainlink_sri" >&2
    exit 1
  fi
  tar -xzf "$tgz" -C "$tmp" package/package.json package/src
  rm -rf "$chainlink_dir"
  mkdir -p "$(dirname "$chainlink_dir")"
  mv "$tmp/package" "$chainlink_dir"
fi
echo "setup: ok"
