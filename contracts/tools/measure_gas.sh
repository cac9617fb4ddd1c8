#!/usr/bin/env bash
# Measures RiskOracle's submission gas as real transactions on a throw-away anvil node: deploys
# the contract with forge create (once per quorum), enables 5 portfolios, has 3 anvil test keys sign with
# `cast wallet sign --no-hash` over the digest the contract reports, and prints each receipt's
# gasUsed. Every report moves the portfolio's value, VaR and CVaR (a running keeper's usual case;
# the value rewrites the report's slot B); the "values kept" batch repeats the previous round's
# value for the record. Usage: contracts/tools/measure_gas.sh [port]   (needs npm's anvil/forge/cast).
# forge's out/ and cache/ go to a fresh temporary directory (or $VARKEEPER_FORGE_TMP), not the
# shared contracts/out, so the script can run beside other builds.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bin="$here/../../node_modules/.bin"
port="${1:-18545}"
rpc="http://127.0.0.1:$port"
mnemonic="test test test test test test test test test test test junk"
"$bin/anvil" --port "$port" --silent &
anvil_pid=$!
forge_tmp="${VARKEEPER_FORGE_TMP:-$(mktemp -d)}"
trap 'kill "$anvil_pid" 2>/dev/null || true; [ -n "${VARKEEPER_FORGE_TMP:-}" ] || rm -rf "$forge_tmp"' EXIT
for _ in $(seq 50); do "$bin/cast" chain-id --rpc-url "$rpc" >/dev/null 2>&1 && break; sleep 0.2; done

owner_key="$("$bin/cast" wallet private-key "$mnemonic" 0)"
owner="$("$bin/cast" wallet address --private-key "$owner_key")"
keys=()
for i in 1 2 3; do keys+=("$("$bin/cast" wallet private-key "$mnemonic" "$i")"); done

cd "$here/.."
send() { "$bin/cast" send --rpc-url "$rpc" --private-key "$owner_key" "$oracle" "$@" --json; }
deploy() { # quorum -> a fresh oracle with 3 signers, that quorum and 5 portfolios enabled
  oracle="$("$bin/forge" create --use ./tools/solc --offline --out "$forge_tmp/out" \
    --cache-path "$forge_tmp/cache" --rpc-url "$rpc" --private-key "$owner_key" \
    --broadcast src/RiskOracle.sol:RiskOracle --constructor-args "$owner" 2>/dev/null |
    awk '/Deployed to:/ {print $3}')"
  for k in "${keys[@]}"; do send "addSigner(address)" "$("$bin/cast" wallet address --private-key "$k")" >/dev/null; done
  # The quorum before the limits (RiskOracle refuses to enable a portfolio without one), all in
  # the setup phase, which the first accepted report ends.
  send "setQuorum(uint8)" "$1" >/dev/null
  for p in 1 2 3 4 5; do send "setLimits(uint64,uint32,uint32,uint64)" "$p" 3600 1 500000000000000000 >/dev/null; done
}

report() { # portfolio round observedAt [value-round] -> tuple; the value is that of value-round
  # (default: round), so every round has its own value, VaR and CVaR
  local value=$((1250000000000000 + $1 * 100000000 + ${4:-$2} * 1234500000000))
  echo "($1,$2,$3,86400,990000000000000000,3,0,$value,$((52000000000000000 + $2 * 1000000000000000)),$((90000000000000000 + $2 * 1000000000000000)),0xca8d81bbe8ffafe7ccc1d7c8e64fa172caa1d08be55d5bd11d1e7d37c30a9677)"
}
rtype="(uint64,uint64,uint64,uint32,uint64,uint8,uint8,uint96,uint64,uint64,bytes32)"
sigs() { # report-tuple quorum -> signature array
  local digest out=() i sig
  digest="$("$bin/cast" call --rpc-url "$rpc" "$oracle" "hashReport($rtype)(bytes32)" "$1")"
  for ((i = 0; i < $2; ++i)); do
    sig="$("$bin/cast" wallet sign --no-hash --private-key "${keys[$i]}" "$digest")"
    out+=("($((16#${sig:130:2})),0x${sig:2:64},0x${sig:66:64})")
  done
  local IFS=,
  echo "[${out[*]}]"
}
gas_of() { "$bin/cast" receipt --rpc-url "$rpc" "$1" gasUsed; }
now() { # advance the chain one change period (1 h) so every round is a later observation
  # whose VaR step (~2 %) is within the change limit, then read its time
  "$bin/cast" rpc --rpc-url "$rpc" evm_increaseTime 3600 >/dev/null
  "$bin/cast" rpc --rpc-url "$rpc" evm_mine >/dev/null
  "$bin/cast" block --rpc-url "$rpc" latest --field timestamp
}

round=1
for q in 1 3; do
  deploy "$q"
  for pass in first steady; do
    round=$((round + 1))
    t="$(now)"
    r="$(report 1 "$round" "$t")"
    tx="$(send "submit($rtype,(uint8,bytes32,bytes32)[])" "$r" "$(sigs "$r" "$q")" | sed -n 's/.*"transactionHash":"\([^"]*\)".*/\1/p')"
    echo "quorum $q submit ($pass write of portfolio 1): gasUsed $(gas_of "$tx")"
  done
  for n in 1 5 5 k5; do # k5: 5 portfolios, each value kept from the previous round
    round=$((round + 1))
    t="$(now)"
    rs=() ss=() vround="$round" what="$n portfolios"
    if [ "$n" = k5 ]; then n=5 vround=$((round - 1)) what="5 portfolios, values kept"; fi
    for ((p = 1; p <= n; ++p)); do r="$(report "$p" "$round" "$t" "$vround")"; rs+=("$r"); ss+=("$(sigs "$r" "$q")"); done
    IFS=, eval 'rl="[${rs[*]}]"; sl="[${ss[*]}]"'
    tx="$(send "submitBatch(${rtype}[],(uint8,bytes32,bytes32)[][])" "$rl" "$sl" | sed -n 's/.*"transactionHash":"\([^"]*\)".*/\1/p')"
    echo "quorum $q submitBatch of $what: gasUsed $(gas_of "$tx")"
  done
  for n in 1 5; do # one signature per signer over the whole RiskReportBatch
    round=$((round + 1))
    t="$(now)"
    rs=()
    for ((p = 1; p <= n; ++p)); do rs+=("$(report "$p" "$round" "$t")"); done
    IFS=, eval 'rl="[${rs[*]}]"'
    digest="$("$bin/cast" call --rpc-url "$rpc" "$oracle" "hashBatch(${rtype}[])(bytes32)" "$rl")"
    out=()
    for ((i = 0; i < q; ++i)); do
      sig="$("$bin/cast" wallet sign --no-hash --private-key "${keys[$i]}" "$digest")"
      out+=("($((16#${sig:130:2})),0x${sig:2:64},0x${sig:66:64})")
    done
    IFS=, eval 'sl="[${out[*]}]"'
    tx="$(send "submitBatchSigned(${rtype}[],(uint8,bytes32,bytes32)[])" "$rl" "$sl" | sed -n 's/.*"transactionHash":"\([^"]*\)".*/\1/p')"
    echo "quorum $q submitBatchSigned of $n portfolios: gasUsed $(gas_of "$tx")"
  done
done
