#!/usr/bin/env bash
# The installed tree is relocatable: `cmake --install` into a prefix, move the prefix elsewhere,
# and the installed varkeeper runs from / on its embedded local chain and finds its bundled
# scenarios, with no source or build path compiled into the binary and none in its environment.
# usage: install_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build="$(cd "$1" && pwd)"
src="$(cd "$2" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cmake --install "$build" --prefix "$work/first" >/dev/null
mv "$work/first" "$work/moved"   # the prefix it was installed to no longer exists
bin="$work/moved/bin/varkeeper"
for f in "$bin" "$work/moved/share/varkeeper/contracts/RiskOracle.json" \
  "$work/moved/share/varkeeper/config/scenarios/calm-year.toml" \
  "$work/moved/share/varkeeper/config/data/btc_usd_daily.csv" \
  "$work/moved/share/varkeeper/tools/anvil"; do
  [ -e "$f" ] || { echo "install_test: $f was not installed"; exit 1; }
done
if grep -qF "$src" "$bin"; then
  echo "install_test: the binary still contains the source path $src"; exit 1
fi
if grep -qF "$build" "$bin"; then
  echo "install_test: the binary still contains the build path $build"; exit 1
fi

# A clean environment: no VARKEEPER_* variables, a PATH without the project's tools.
clean=(env -i HOME="$work" PATH=/usr/bin:/bin)
cd /
out="$("${clean[@]}" "$bin" run --ticks 5 --tick-ms 1000 --store "$work/keeper.db" 2>&1)" || {
  echo "$out"; echo "install_test: varkeeper run failed"; exit 1; }
echo "$out" | tail -n 3
echo "$out" | grep -q "stopped after 5 ticks" || { echo "install_test: no 5 ticks"; exit 1; }
echo "$out" | grep -q "accepted" || { echo "install_test: no report accepted"; exit 1; }

"${clean[@]}" "$bin" simulate --scenario calm-year --out "$work/sim" >/dev/null
[ -s "$work/sim/timeseries.csv" ] || { echo "install_test: simulate wrote no time series"; exit 1; }
echo "install_test: relocated install ran 5 ticks from / and simulated calm-year"
