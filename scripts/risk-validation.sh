#!/usr/bin/env bash
# Regenerates the validation table of docs/risk-validation.md: a rolling one-day backtest of every
# risk method at 99 % and 95 % over the full BTC and ETH daily histories in config/data/ and the
# depeg series (config/data/depeg_usd_daily.csv, written by scripts/depeg_series.py from the
# depeg scenario's parameters), run by the built `varkeeper backtest --json`, one row per (asset,
# confidence, method). The last column counts the fits that carried each diagnostic
# (risk/risk_diagnostic.hpp).
#
#   scripts/risk-validation.sh [VARKEEPER_BINARY] > table.md
#
# Settings (also printed above the table): window 500 days; refit every day for the closed-form
# and historical methods and evt; every 5 days with 10 000 paths for Monte Carlo and for parametric-t
# (its per-window Student-t maximum-likelihood fit dominates the run time); ES test with 5000
# simulations; seed 1. The last column backtests the out-of-sample recalibrated VaR (each day's
# VaR times the Basel-style multiplier of the raw VaR's exceptions over the previous 250 days).
# Threads: VARKEEPER_THREADS (default 1, gentle on a shared machine; 0 = all cores). The figures
# are identical for any thread count (tests/risk/rolling_backtest_test.cpp checks it).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="${1:-$here/build/varkeeper}"
if [[ ! -x "$bin" ]]; then
  echo "risk-validation.sh: $bin is not an executable; build first (scripts/build.sh) or pass its path." >&2
  exit 2
fi
command -v jq >/dev/null || { echo "risk-validation.sh: needs jq (apt-get install jq)." >&2; exit 2; }

window=500
paths=10000
es_sims=5000
methods=(parametric-normal parametric-t cornish-fisher historical historical-age
         filtered-historical mc-normal mc-t mc-jump evt)

refit_for() {
  case "$1" in
    mc-*|parametric-t) echo 5 ;;
    *) echo 1 ;;
  esac
}

echo "Settings: window $window days, refit 1 day (closed-form, historical and evt methods) or 5 days"
echo "(parametric-t and Monte Carlo, $paths paths), ES test $es_sims simulations, seed 1,"
commit="${VARKEEPER_SOURCE_COMMIT:-$(git -C "$here" describe --always --dirty 2>/dev/null || echo unknown)}"
echo "generated $(date -u +%Y-%m-%d) by \`scripts/risk-validation.sh\` with $("$bin" --version) (source $commit)."
echo
echo "| asset | conf. | method | refit | days | exceptions | expected | Kupiec p | Chr. ind. p | Chr. cc p | zone | Z2 | Z2 p | mean VaR | mean CVaR | recalibrated: exceptions, zone | diagnostics (fits) |"
echo "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | --- | --- |"
for asset in btc eth depeg; do
  prices="$here/config/data/${asset}_usd_daily.csv"
  [[ -f "$prices" ]] || { echo "risk-validation.sh: missing $prices" >&2; exit 2; }
  for conf in 0.99 0.95; do
    for m in "${methods[@]}"; do
      refit="$(refit_for "$m")"
      start=$(date +%s.%N)
      json="$("$bin" backtest --prices "$prices" --method "$m" --window "$window" --refit "$refit" \
               --confidence "$conf" --paths "$paths" --threads "${VARKEEPER_THREADS:-1}" --seed 1 \
               --es-simulations "$es_sims" --json)"
      end=$(date +%s.%N)
      echo "$asset $conf $m: $(echo "$end - $start" | bc) s" >&2
      jq -r --arg asset "${asset^^}" --arg conf "$conf" --arg m "$m" --arg refit "$refit" '
        def p: if . < 0.0001 then "<1e-4" else (. * 10000 | round / 10000 | tostring) end;
        def f4: (. * 10000 | round / 10000 | tostring);
        "| \($asset) | \($conf) | \($m) | \($refit) | \(.n_obs) | \(.exceptions) | "
        + "\(.expected_exceptions * 10 | round / 10) | \(.kupiec.p_value | p) | "
        + "\(.christoffersen.independence.p_value | p) | "
        + "\(.christoffersen.conditional_coverage.p_value | p) | \(.traffic_light.zone) | "
        + "\(.es_test.z2 * 100 | round / 100) | \(.es_test.p_value | p) | "
        + "\(.mean_var | f4) | \(.mean_cvar | f4) | "
        + "\(.recalibration.rolling.exceptions), \(.recalibration.rolling.zone) | "
        + (.refits as $n | if (.diagnostics | length) == 0 then "-" else
             ([.diagnostics | to_entries[] | "\(.key) \(.value)/\($n)"] | join(", "))
           end) + " |"
      ' <<<"$json"
    done
  done
done
