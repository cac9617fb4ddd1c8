#!/usr/bin/env bash
# Peers for bench/rpc_batch_bench: 100 sequential `cast call`s and one batched JSON-RPC request
# of 100 eth_calls with curl, against a fresh anvil on a loopback port. Prints milliseconds.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="$root/node_modules/.bin"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$bin/anvil" --host 127.0.0.1 --port "$port" >/dev/null 2>&1 &
anvil_pid=$!
trap 'kill $anvil_pid 2>/dev/null || true' EXIT
url="http://127.0.0.1:$port"
for _ in $(seq 100); do curl -s "$url" >/dev/null 2>&1 && break; sleep 0.05; done
word() { printf '%064x' "$1"; }

start=$(date +%s%N)
for i in $(seq 0 99); do
  "$bin/cast" call 0x0000000000000000000000000000000000000004 "0x$(word "$i")" --rpc-url "$url" >/dev/null
done
end=$(date +%s%N)
echo "cast: 100 sequential calls: $(( (end - start) / 1000000 )) ms"

body="["
for i in $(seq 0 99); do
  [ "$i" -gt 0 ] && body+=","
  body+="{\"jsonrpc\":\"2.0\",\"id\":$i,\"method\":\"eth_call\",\"params\":[{\"to\":\"0x0000000000000000000000000000000000000004\",\"data\":\"0x$(word "$i")\"},\"latest\"]}"
done
body+="]"
best=999999
for _ in $(seq 20); do
  start=$(date +%s%N)
  curl -s -H 'Content-Type: application/json' -d "$body" "$url" >/dev/null
  end=$(date +%s%N)
  t=$(( (end - start) / 1000 ))
  (( t < best )) && best=$t
done
echo "curl: one batched request of 100 calls (best of 20, incl. process start): $best us"
