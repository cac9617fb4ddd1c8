#!/usr/bin/env python3
"""The varkeeper soak (issue 15; how to run it: bench/soak/README.md).

The daemon (`varkeeper run --config`) talks to one anvil through three endpoints. Each endpoint is
a chain of two proxies: the integration tests' fault proxy (bench/soak/soak_proxy, named faults:
drop, delay, http_429/500/503, garbage, wrong_id, wrong_chain, fail/null/wrong receipts) in front
of a head shim in this script (frozen head, lagging head, wrong prices). Chain faults go through
anvil's own controls (anvil_reorg, evm_snapshot + evm_revert, anvil_dropTransaction,
anvil_setNextBlockBaseFeePerGas, anvil_setBalance) and an external sender uses the keeper's key.
The daemon is killed with SIGKILL every few minutes and restarted (and restarted whenever it
exits). At the end the faults stop, the keeper drains, and the invariants are checked from the
chain (JSON-RPC straight to anvil) and the store (sqlite3). Prints a table; exits 1 on any
violation.
"""
import argparse
import collections
import http.server
import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ANVIL = os.path.join(REPO, "node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil")
SENDER = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"  # anvil0, the keeper's sender
SIGNERS = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8,0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"
FEED_MOVER = "0xa0ee7a142d267c1f36714e4a8f75612f20a79720"  # anvil9, moves the mock feeds
SET_ANSWER = "0x99213cd8"  # setAnswer(int256)
REPORT_ACCEPTED = None  # topic0, filled in from the artifact


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rpc(url, method, params=None, timeout=10):
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []})
    req = urllib.request.Request(url, body.encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        answer = json.loads(r.read())
    if "error" in answer:
        raise RuntimeError(f"{method}: {answer['error']}")
    return answer["result"]


def log(msg):
    print(time.strftime("%H:%M:%S ") + msg, flush=True)


# ------------------------------------------------------------------ head shim (one per endpoint)

class Shim:
    """Forwards JSON-RPC to anvil; in a mode, lies about the head or the prices."""

    def __init__(self, upstream):
        self.upstream = upstream
        self.mode = "none"  # none | frozen_head | lagging_head | wrong_prices
        self.fake_head = 0
        self.lag = 0
        self.counts = collections.Counter()
        shim = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                try:
                    out = shim.handle(json.loads(body))
                    data = json.dumps(out).encode()
                    code = 200
                except Exception as e:  # upstream down (a revert of anvil's state...)
                    data = json.dumps({"error": str(e)}).encode()
                    code = 502
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def set_mode(self, mode, lag=0):
        if mode == "frozen_head":
            self.fake_head = int(rpc(self.upstream, "eth_blockNumber"), 16)
        self.lag = lag
        self.mode = mode

    def head(self, real):
        if self.mode == "frozen_head":
            return min(self.fake_head, real)
        if self.mode == "lagging_head":
            return max(0, real - self.lag)
        return real

    def handle(self, req):
        if isinstance(req, list):
            if self.mode == "none":
                return self.forward(req)
            return [self.one(r) for r in req]
        if self.mode == "none":
            return self.forward(req)
        return self.one(req)

    def forward(self, req):
        data = json.dumps(req).encode()
        r = urllib.request.Request(self.upstream, data, {"Content-Type": "application/json"})
        with urllib.request.urlopen(r, timeout=30) as answer:
            return json.loads(answer.read())

    def one(self, req):
        method = req.get("method", "")
        params = req.get("params") or []
        if self.mode in ("frozen_head", "lagging_head"):
            real = int(rpc(self.upstream, "eth_blockNumber"), 16)
            head = self.head(real)
            if method == "eth_blockNumber":
                self.counts[self.mode] += 1
                return {"jsonrpc": "2.0", "id": req.get("id"), "result": hex(head)}
            new_params = []
            for p in params:
                if p == "latest" or p == "pending":
                    self.counts[self.mode] += 1
                    p = hex(head)
                elif isinstance(p, str) and p.startswith("0x") and len(p) <= 18 and \
                        method != "eth_sendRawTransaction" and int(p, 16) > head and \
                        method in ("eth_getBlockByNumber", "eth_call", "eth_getBalance",
                                   "eth_getTransactionCount", "eth_feeHistory"):
                    self.counts[self.mode] += 1
                    return {"jsonrpc": "2.0", "id": req.get("id"),
                            "error": {"code": -32000, "message": "header not found"}}
                elif isinstance(p, dict) and p.get("blockNumber") in ("latest", "pending"):
                    p = dict(p, blockNumber=hex(head))
                new_params.append(p)
            req = dict(req, params=new_params)
            answer = self.forward(req)
            if method == "eth_getTransactionReceipt" and answer.get("result") and \
                    int(answer["result"]["blockNumber"], 16) > head:
                self.counts[self.mode] += 1
                answer["result"] = None  # this node has not seen that block
            return answer
        answer = self.forward(req)
        if self.mode == "wrong_prices" and method == "eth_call":
            result = answer.get("result")
            if isinstance(result, str) and len(result) == 2 + 5 * 64:  # latestRoundData
                self.counts["wrong_prices"] += 1
                lie = format(1234500000000, "064x")
                answer["result"] = result[:66] + lie + result[130:]
        return answer


# ------------------------------------------------------------------ the soak

class Soak:
    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        self.dir = os.path.abspath(args.dir)
        os.makedirs(self.dir, exist_ok=True)
        self.faults = collections.Counter()
        self.failed_faults = collections.Counter()
        self.external_hashes = set()
        self.feed_hashes = []
        self.restarts = 0
        self.kills = 0
        self.exits = 0
        self.daemon = None
        self.daemon_log = open(os.path.join(self.dir, "daemon.log"), "ab")
        self.procs = []
        # (wall-clock time, anvil's head) sampled by the soak's loop: the gas check maps the
        # store's wall-clock created_at to a block with it. Block timestamps cannot do that:
        # every evm_revert sets anvil's clock back to the snapshot's block (run 2 of
        # docs/reliability.md: 6 reverts had put it ~14 s behind the wall clock).
        self.heads = []

    # ---- setup
    def start(self):
        port = free_port()
        self.anvil_url = f"http://127.0.0.1:{port}"
        self.procs.append(subprocess.Popen(
            [ANVIL, "--port", str(port), "--block-time", "1", "--silent"],
            stdout=open(os.path.join(self.dir, "anvil.log"), "wb"), stderr=subprocess.STDOUT))
        for _ in range(100):
            try:
                rpc(self.anvil_url, "eth_chainId")
                break
            except Exception:
                time.sleep(0.1)
        dep = os.path.join(self.dir, "deployment.json")
        subprocess.run([self.args.binary, "deploy", "--rpc", self.anvil_url, "--chain-id",
                        "31337", "--private-key-dev", "anvil0", "--mocks", "--signers", SIGNERS,
                        "--quorum", "2", "--limits", "1:3600", "--out", dep], check=True,
                       stdout=subprocess.DEVNULL)
        self.deploy_nonces = int(rpc(self.anvil_url, "eth_getTransactionCount",
                                     [SENDER, "latest"]), 16)
        self.deployment = json.load(open(dep))["contracts"]
        self.oracle = self.deployment["RiskOracle"]["address"].lower()
        self.feeds = {"ETH": self.deployment["MockAggregatorEthUsd"]["address"],
                      "BTC": self.deployment["MockAggregatorBtcUsd"]["address"]}
        self.prices = {"ETH": 3000.0, "BTC": 60000.0}
        self.shims = [Shim(self.anvil_url) for _ in range(3)]
        self.proxies = []
        self.proxy_ports = []
        for s in self.shims:
            if self.args.proxy == "none":  # debugging: the head shims only, no proxy faults
                self.proxy_ports.append(s.port)
                continue
            p = subprocess.Popen([self.args.proxy, f"http://127.0.0.1:{s.port}", "1"],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            self.procs.append(p)
            self.proxy_ports.append(int(p.stdout.readline().split()[1]))
            assert p.stdout.readline().strip() == "ready"
            self.proxies.append(p)
        self.write_config()

    def write_config(self):
        rpcs = ", ".join(f'"http://127.0.0.1:{p}"' for p in self.proxy_ports)
        repo_data = os.path.join(REPO, "config/data")
        self.store = os.path.join(self.dir, "keeper.db")
        self.metrics_port = free_port()
        cfg = f"""# written by bench/soak/soak.py
[keeper]
tick_interval_s = 2
store = "keeper.db"
metrics_address = "127.0.0.1:{self.metrics_port}"

[chain]
chain_id = 31337
rpc = [{rpcs}]
request_timeout_ms = 2000
confirmations = {self.args.confirmations}
agree_reads = true
agree_quorum = 2
max_head_lag_blocks = 5
head_stall_s = 10

[chain.fees]
max_fee_gwei = 500
bump_min_gwei = 0
bump_after_blocks = 3

[keys]
signers = [{{ dev_key = "anvil1" }}, {{ dev_key = "anvil2" }}]
sender = {{ dev_key = "anvil0" }}

[contracts]
deployment = "deployment.json"

[[assets]]
symbol = "ETH"
decimals = 8
history_csv = "{repo_data}/eth_usd_daily.csv"
[[assets.sources]]
name = "mock"
aggregator = "{self.feeds['ETH']}"

[[assets]]
symbol = "BTC"
decimals = 8
history_csv = "{repo_data}/btc_usd_daily.csv"
[[assets.sources]]
name = "mock"
aggregator = "{self.feeds['BTC']}"

[[portfolios]]
id = 1
name = "treasury"
positions = {{ ETH = 100.0, BTC = 5.0 }}
method = "filtered-historical"
confidence = 0.99
horizon = 1
period_s = 86400
window = 500
ewma_lambda = 0.94

[portfolios.publish]
deviation = 0.05
heartbeat_s = {self.args.heartbeat}
"""
        self.config = os.path.join(self.dir, "keeper.toml")
        with open(self.config, "w") as f:
            f.write(cfg)

    def proxy_cmd(self, i, line):
        if not self.proxies:
            return
        p = self.proxies[i]
        verb, _index, arg = line.split()
        line = f"{verb} 0 {arg}"  # one fault proxy per soak_proxy process
        p.stdin.write(line + "\n")
        p.stdin.flush()
        answer = p.stdout.readline().strip()
        if answer != "ok":
            raise RuntimeError(f"soak_proxy {i}: {line}: {answer}")

    def proxy_stats(self):
        stats = collections.Counter()
        for p in self.proxies:
            p.stdin.write("stats\n")
            p.stdin.flush()
            while True:
                line = p.stdout.readline().split()
                if not line or line[0] == "end":
                    break
                stats[line[2]] += int(line[3])
        return stats

    # ---- the daemon
    def start_daemon(self):
        self.daemon_log.write(f"\n==== start {time.strftime('%H:%M:%S')}\n".encode())
        self.daemon_log.flush()
        self.daemon = subprocess.Popen([self.args.binary, "run", "--config", self.config],
                                       stdout=self.daemon_log, stderr=subprocess.STDOUT)

    def supervise(self):
        try:
            self.heads.append((time.time(), int(rpc(self.anvil_url, "eth_blockNumber"), 16)))
        except Exception:
            pass
        if self.daemon.poll() is not None:
            self.exits += 1
            log(f"daemon exited with {self.daemon.returncode}; restarting")
            time.sleep(2)
            self.start_daemon()
            self.restarts += 1

    def kill9(self):
        self.daemon.send_signal(signal.SIGKILL)
        self.daemon.wait()
        self.kills += 1
        time.sleep(self.rng.uniform(0.5, 3))
        self.start_daemon()
        self.restarts += 1
        log(f"kill -9 #{self.kills}; restarted")

    # ---- faults
    def sender_pending(self):
        content = rpc(self.anvil_url, "txpool_content")
        out = []
        for who, txs in content.get("pending", {}).items():
            if who.lower() == SENDER:
                out += [t["hash"] for t in txs.values()]
        return out

    def move_feed(self):
        sym = self.rng.choice(["ETH", "BTC"])
        step = self.rng.gauss(0, 0.02) if self.rng.random() > 0.1 else self.rng.choice([-.1, .1])
        self.prices[sym] *= (1 + step)
        answer = int(self.prices[sym] * 1e8)
        data = SET_ANSWER + format(answer, "064x")
        h = rpc(self.anvil_url, "eth_sendTransaction",
                [{"from": FEED_MOVER, "to": self.feeds[sym], "data": data}])
        self.feed_hashes.append(h)

    def fault(self):
        """Starts one random fault; returns a function that ends it (or None)."""
        kind = self.rng.choice([
            "drop", "delay", "http_429", "http_500", "http_503", "garbage", "wrong_id",
            "wrong_chain", "fail_receipts", "null_receipts", "wrong_receipt", "storm",
            "frozen_head", "lagging_head", "wrong_prices",
            "reorg", "snapshot_revert", "drop_tx", "base_fee_spike", "balance_drain",
            "external_sender"])
        self.faults[kind] += 1
        self.last_kind = kind
        i = self.rng.randrange(3)
        if kind in ("drop", "delay", "http_429", "http_500", "http_503", "garbage", "wrong_id",
                    "wrong_chain", "fail_receipts", "null_receipts", "wrong_receipt"):
            if not self.proxies:
                self.faults[kind] -= 1
                return None
            if kind == "delay":
                self.proxy_cmd(i, f"delay {i} {self.rng.choice([500, 1500, 3000])}")
            if kind == "wrong_receipt":
                decoy = self.rng.choice(self.feed_hashes or ["0x" + "00" * 32])
                self.proxy_cmd(i, f"decoy {i} {decoy}")
            self.proxy_cmd(i, f"fault {i} {kind}")
            log(f"fault {kind} on endpoint {i}")
            return lambda: self.proxy_cmd(i, f"fault {i} none")
        if kind == "storm":
            if not self.proxies:
                self.faults[kind] -= 1
                return None
            codes = [self.rng.choice(["http_429", "http_500", "http_503"]) for _ in range(3)]
            for j in range(3):
                self.proxy_cmd(j, f"fault {j} {codes[j]}")
            log(f"fault storm {codes} on every endpoint")
            return lambda: [self.proxy_cmd(j, f"fault {j} none") for j in range(3)]
        if kind in ("frozen_head", "lagging_head", "wrong_prices"):
            self.shims[i].set_mode(kind, lag=self.rng.randint(8, 30))
            log(f"fault {kind} on endpoint {i}")
            return lambda: self.shims[i].set_mode("none")
        if kind == "reorg":
            depth = self.rng.randint(1, self.args.max_reorg)
            rpc(self.anvil_url, "anvil_reorg", [depth, []])
            log(f"fault reorg depth {depth}")
        elif kind == "snapshot_revert":
            snap = rpc(self.anvil_url, "evm_snapshot")
            blocks = self.rng.randint(1, self.args.max_reorg)
            time.sleep(blocks - 0.5)
            rpc(self.anvil_url, "evm_revert", [snap])
            log(f"fault snapshot_revert after {blocks} s")
        elif kind == "drop_tx":
            dropped = 0
            for h in self.sender_pending():
                rpc(self.anvil_url, "anvil_dropTransaction", [h])
                dropped += 1
            log(f"fault drop_tx ({dropped} pending of the sender dropped)")
        elif kind == "base_fee_spike":
            gwei = self.rng.choice([20, 50, 100, 200])
            rpc(self.anvil_url, "anvil_setNextBlockBaseFeePerGas", [hex(gwei * 10**9)])
            log(f"fault base_fee_spike {gwei} gwei")
        elif kind == "balance_drain":
            rpc(self.anvil_url, "anvil_setBalance", [SENDER, hex(10**12)])
            log("fault balance_drain (sender left with 1e12 wei)")
            return lambda: rpc(self.anvil_url, "anvil_setBalance", [SENDER, hex(10**22)])
        elif kind == "external_sender":
            h = rpc(self.anvil_url, "eth_sendTransaction",
                    [{"from": SENDER, "to": SENDER, "value": "0x1"}])
            self.external_hashes.add(h.lower())
            log(f"fault external_sender {h}")
        return None

    # ---- main loop
    def run(self):
        self.start()
        self.start_daemon()
        self.restarts = 0
        t0 = time.time()
        end = t0 + self.args.minutes * 60
        next_kill = t0 + self.args.kill_every * self.rng.uniform(0.7, 1.3)
        next_fault = t0 + 15
        next_feed = t0 + 5
        undo = []  # (time, function)
        while time.time() < end:
            now = time.time()
            self.supervise()
            for item in [u for u in undo if u[0] <= now]:
                undo.remove(item)
                try:
                    item[1]()
                except Exception as e:
                    log(f"undo failed: {e}")
            if now >= next_feed:
                try:
                    self.move_feed()
                except Exception as e:
                    log(f"feed move failed: {e}")
                next_feed = now + self.rng.uniform(5, 15)
            if now >= next_fault:
                try:
                    f = self.fault()
                    if f:
                        undo.append((now + self.rng.uniform(5, 25), f))
                except Exception as e:
                    self.faults[self.last_kind] -= 1
                    self.failed_faults[self.last_kind] += 1
                    log(f"fault failed: {e}")
                next_fault = now + self.rng.uniform(4, 12)
            if now >= next_kill:
                self.kill9()
                next_kill = now + self.args.kill_every * self.rng.uniform(0.7, 1.3)
            time.sleep(0.5)
        for _, f in undo:
            try:
                f()
            except Exception as e:
                log(f"undo failed: {e}")
        rpc(self.anvil_url, "anvil_setBalance", [SENDER, hex(10**22)])
        for s in self.shims:
            s.set_mode("none")
        log(f"faults stopped; draining {self.args.drain} s")
        drain_end = time.time() + self.args.drain
        while time.time() < drain_end:
            self.supervise()
            time.sleep(1)
        self.daemon.send_signal(signal.SIGTERM)
        try:
            self.daemon.wait(30)
        except subprocess.TimeoutExpired:
            self.daemon.kill()
            log("daemon did not stop within 30 s of SIGTERM")
        time.sleep(2 * self.args.confirmations + 2)
        self.duration = time.time() - t0
        ok = self.check()
        for p in self.procs:
            p.kill()
        return ok

    # ---- invariants
    def check(self):
        url = self.anvil_url
        head = int(rpc(url, "eth_blockNumber"), 16)
        # Every transaction of the sender on the canonical chain, by nonce.
        chain_txs = {}
        blocks = {}
        for b in range(0, head + 1):
            blk = rpc(url, "eth_getBlockByNumber", [hex(b), True])
            blocks[b] = blk
            for tx in blk["transactions"]:
                if tx["from"].lower() == SENDER:
                    n = int(tx["nonce"], 16)
                    if n in chain_txs:
                        raise RuntimeError(f"nonce {n} twice on chain")
                    chain_txs[n] = tx
        latest = int(rpc(url, "eth_getTransactionCount", [SENDER, "latest"]), 16)
        pending = int(rpc(url, "eth_getTransactionCount", [SENDER, "pending"]), 16)
        by_hash = {tx["hash"].lower(): tx for tx in chain_txs.values()}
        db = sqlite3.connect(self.store)
        txs = {r[0]: r for r in db.execute(
            "select id, idempotency_key, label, state, nonce, mined_hash, to_address, error "
            "from tx")}
        attempts = list(db.execute(
            "select tx_id, seq, hash, max_fee_per_gas, max_priority_fee_per_gas, state, "
            "broadcast_block from tx_attempt"))
        reports = list(db.execute("select portfolio_id, round, state, tx_id from report"))
        db.close()
        hashes_of = collections.defaultdict(set)
        for a in attempts:
            hashes_of[a[0]].add(a[2].lower())
        violations = []
        results = []

        # 1. No duplicate report round, no duplicate action.
        accepted = self.report_accepted_logs(head)
        dup_rounds = [k for k, c in collections.Counter(accepted).items() if c > 1]
        dup_tx = [tid for tid, hs in hashes_of.items() if len(hs & set(by_hash)) > 1]
        report_calls = collections.Counter(
            t["input"] for t in chain_txs.values() if (t.get("to") or "").lower() == self.oracle)
        dup_calls = [c for c, n in report_calls.items() if n > 1]
        results.append(("no duplicate report round or action",
                        not dup_rounds and not dup_tx and not dup_calls,
                        f"{len(accepted)} rounds accepted, {len(dup_rounds)} twice; "
                        f"{len(txs)} store transactions, {len(dup_tx)} mined twice; "
                        f"{len(dup_calls)} oracle calldata mined twice"))

        # 2. No nonce gap: every nonce below the account's count is one mined transaction of
        # ours or of the external sender; nothing left pending; every store nonce is used.
        unknown = [n for n, t in chain_txs.items()
                   if n >= self.deploy_nonces and t["hash"].lower() not in self.external_hashes
                   and not any(t["hash"].lower() in hs for hs in hashes_of.values())]
        missing = [n for n in range(latest) if n not in chain_txs]
        store_nonces = [r[4] for r in txs.values() if r[4] is not None]
        beyond = [n for n in store_nonces if n >= latest]
        results.append(("no nonce gap, nothing stuck",
                        not missing and pending == latest and not beyond and not unknown,
                        f"nonces 0..{latest - 1} mined ({self.deploy_nonces} by the deployment), "
                        f"pending count {pending}, "
                        f"{len(unknown)} mined txs of the sender unknown to the store and the "
                        f"soak, {len(beyond)} store nonces >= {latest}"))

        # 3. Every signed attempt accounted for: mined, replaced (its nonce went to another
        # transaction) or never valid (its transaction never got a nonce on chain).
        mined = replaced = fatal = 0
        unaccounted = []
        for tx_id, seq, h, *_rest in attempts:
            t = txs[tx_id]
            if h.lower() in by_hash:
                mined += 1
            elif t[4] is not None and t[4] < latest:
                replaced += 1
            elif t[4] is None and t[3] == "fatal":
                fatal += 1
            else:
                unaccounted.append((tx_id, seq, t[3]))
        # The store's final states must agree with the chain; a transaction still open when the
        # daemon stopped must be mined (the next start records it) or have lost its nonce to
        # another transaction (the next start resolves it), never be stuck.
        store_final_wrong = []
        open_mined = 0
        fillers_released = 0
        for r in txs.values():
            on_chain = hashes_of[r[0]] & set(by_hash)
            if r[3] in ("confirmed", "finalized"):
                if (r[2] == "gap_fill" and not r[5] and not on_chain and r[4] is not None
                        and r[4] in chain_txs):
                    # A filler released as not needed (TxManager::release_nonce: finalized, no
                    # mined hash): its only claim is that its nonce is used, which it is, by
                    # another transaction. Not a contradiction (run 2: tx 16).
                    fillers_released += 1
                elif not r[5] or r[5].lower() not in by_hash:
                    store_final_wrong.append(r[0])
            elif r[3] in ("unstarted", "in_progress", "unconfirmed", "confirmed_missing_receipt"):
                if on_chain or (r[4] is not None and r[4] < latest):
                    open_mined += 1
                else:
                    store_final_wrong.append(r[0])
            elif on_chain:  # fatal, yet mined
                store_final_wrong.append(r[0])
        results.append(("every signed attempt accounted for",
                         not unaccounted and not store_final_wrong,
                         f"{len(attempts)} attempts: {mined} mined, {replaced} replaced or "
                         f"dropped, {fatal} of fatal transactions without a nonce, "
                         f"{len(unaccounted)} unaccounted {unaccounted[:10]}; "
                         f"{len(store_final_wrong)} store transactions whose state the chain "
                         f"contradicts or stuck {self.describe_txs(store_final_wrong, txs)}; "
                         f"{fillers_released} gap fillers released (their nonce used by "
                         f"another transaction); "
                         f"{open_mined} open at the stop with their nonce used on chain"))

        # 4. Gas overpay. An attempt is priced when it is signed and may be sent again unchanged
        # later (after a crash, a reorg, a dropped transaction): the store's broadcast_block is its
        # last send. The fee needed at its time is the fresh quote (base_fee_multiplier 2 x the
        # next block's base fee + the tip floor) at the highest point between its signing (the
        # transaction's creation for a first attempt, the previous attempt's send for a
        # replacement) and its last send; for a replacement at least the txpool's 110 % of the
        # attempt it replaces. No attempt's max fee may exceed twice the fee needed. The ratio to
        # the quote at the last send alone is a figure.
        floor = 10**6  # min_priority_fee_gwei 0.001

        def quote(b):
            base = max(int(blocks[b].get("baseFeePerGas", "0x0"), 16),
                       int(blocks[min(b + 1, head)].get("baseFeePerGas", "0x0"), 16))
            return 2 * base + floor

        def block_at(t):
            # The head the soak saw last at or before wall-clock time t (0 before the first
            # sample): at most the head when the keeper signed, so the window starts no later.
            found = 0
            for wall, b in self.heads:
                if wall > t:
                    break
                found = b
            return min(found, head)

        created = {}
        db = sqlite3.connect(self.store)
        for tx_id, created_at in db.execute("select id, created_at from tx"):
            created[tx_id] = block_at(created_at)
        db.close()
        worst = (0.0, None)
        worst_last = 0.0
        over = []
        previous = {}
        for tx_id, seq, h, max_fee, tip, state, bblock in sorted(attempts):
            prev = previous.get(tx_id)
            start = prev[1] if prev else created.get(tx_id, bblock)
            previous[tx_id] = (int(max_fee), bblock)
            if bblock <= 0 or bblock + 1 > head:
                continue
            lo = max(0, min(start, bblock))
            needed = max(quote(b) for b in range(lo, bblock + 1))
            if prev:
                needed = max(needed, prev[0] * 110 // 100)
            ratio = int(max_fee) / needed
            worst_last = max(worst_last, int(max_fee) / quote(bblock))
            if ratio > worst[0]:
                worst = (ratio, (tx_id, seq))
            if ratio > 2.0:
                over.append((tx_id, seq, round(ratio, 2)))
        self.max_fee_ratio = worst[0]
        worst_fresh = worst_last
        paid = [int(t.get("gasPrice", "0x0"), 16) /
                max(1, int(blocks[int(t["blockNumber"], 16)]["baseFeePerGas"], 16) + floor)
                for t in chain_txs.values() if t["hash"].lower() not in self.external_hashes]
        self.max_paid_ratio = max(paid) if paid else 0
        results.append(("gas overpay bounded (max fee <= 2x the fee needed)", not over,
                        f"max fee / fee needed: max {worst[0]:.2f} (tx, seq {worst[1]}); "
                        f"{len(over)} attempts above 2 {over[:10]}; "
                        f"max fee / fresh quote at the last send: "
                        f"max {worst_fresh:.2f}; "
                        f"paid/(base+tip floor) max {self.max_paid_ratio:.2f}"))

        # 5. Every report that should have landed landed: each store row accepted <=> its round
        # accepted on chain; none left pending; every round on chain is a row of the store.
        rows = {(r[0], r[1]): r for r in reports}
        acc = set(accepted)
        # accepted <=> on chain; refused, dropped and superseded rows must not be on chain.
        wrong = [k for k, r in rows.items()
                 if (r[2] == "accepted") != (k in acc) and r[2] != "pending"]
        pend = [k for k, r in rows.items() if r[2] == "pending"]
        pend_landed = [k for k in pend if k in acc]
        # A pending row is lost when its transaction can no longer land: missing, stuck, or
        # fatal (the row then stays pending for ever: nothing resolves it).
        pend_lost = [k for k in pend if k not in acc and (
            rows[k][3] not in txs or rows[k][3] in store_final_wrong
            or txs[rows[k][3]][3] == "fatal")]
        foreign = [k for k in acc if k not in rows]
        refused = [k for k, r in rows.items() if r[2] not in ("accepted", "pending")]
        refused_why = collections.Counter(
            rows[k][2] + ": " + ((txs[rows[k][3]][7] or txs[rows[k][3]][3])[:60]
                                 if rows[k][3] in txs else "no tx")
            for k in refused)
        results.append(("every report that should have landed landed",
                        not wrong and not pend_lost and not foreign,
                        f"{len(rows)} report rows: {len(acc)} accepted on chain, "
                        f"{len(refused)} refused, dropped or superseded {dict(refused_why)}, "
                        f"{len(pend)} pending at the "
                        f"stop ({len(pend_landed)} of them landed, {len(pend_lost)} lost: "
                        f"{[(k, txs[rows[k][3]][7][:50]) for k in pend_lost if rows[k][3] in txs]}), "
                        f"{len(wrong)} store/chain contradictions "
                        f"{[(k, rows[k][2], rows[k][3]) for k in wrong[:10]]}, "
                        f"{len(foreign)} on chain only {foreign[:10]}"))
        db = sqlite3.connect(self.store)
        self.incidents = dict(db.execute("select category, count(*) from incident group by 1"))
        db.close()

        self.figures = {
            "blocks": head, "sender nonces": latest, "tx (store)": len(txs),
            "attempts (store)": len(attempts), "reports accepted": len(acc),
            "external sends": len(self.external_hashes), "feed updates": len(self.feed_hashes),
            "max fee / fee needed": f"{self.max_fee_ratio:.2f}",
            "paid / (base fee + tip floor), max": f"{self.max_paid_ratio:.2f}",
            "incidents": self.incidents,
        }
        self.print_table(results)
        return all(ok for _, ok, _ in results)

    @staticmethod
    def describe_txs(ids, txs):
        """(id, label, store state, nonce) of the first few store transactions named."""
        return [(i, txs[i][2], txs[i][3], txs[i][4]) for i in sorted(ids)[:10]]

    def report_accepted_logs(self, head):
        topic = self.args.report_topic
        logs = rpc(self.anvil_url, "eth_getLogs",
                   [{"address": self.oracle, "fromBlock": "0x0", "toBlock": hex(head),
                     "topics": [topic]}], timeout=60)
        return [(int(l["topics"][1], 16), int(l["topics"][2], 16)) for l in logs]

    def print_table(self, results):
        stats = self.proxy_stats()
        shim = collections.Counter()
        for s in self.shims:
            shim.update(s.counts)
        print()
        print(f"soak: {self.duration / 60:.1f} min, {self.kills} kill -9, "
              f"{self.restarts} restarts ({self.exits} after the daemon exited by itself)")
        print("| fault class | events | requests affected |")
        print("| --- | --- | --- |")
        for k in sorted(self.faults):
            affected = stats.get(k, shim.get(k, ""))
            print(f"| {k} | {self.faults[k]} | {affected} |")
        print(f"| (all proxied requests) | | {stats.get('requests', 0)} |")
        if self.failed_faults:
            print(f"faults that could not be injected: {dict(self.failed_faults)}")
        print()
        print("| invariant | result | evidence |")
        print("| --- | --- | --- |")
        for name, ok, evidence in results:
            print(f"| {name} | {'pass' if ok else 'VIOLATED'} | {evidence} |")
        print()
        print("| figure | value |")
        print("| --- | --- |")
        for k, v in self.figures.items():
            print(f"| {k} | {v} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--binary", default=os.path.join(REPO, "build/varkeeper"))
    ap.add_argument("--proxy", default=os.path.join(REPO, "build/bench/soak_proxy"))
    ap.add_argument("--dir", default="/tmp/varkeeper-soak")
    ap.add_argument("--minutes", type=float, default=30)
    ap.add_argument("--kill-every", type=float, default=150, help="seconds between kill -9")
    ap.add_argument("--drain", type=float, default=60, help="seconds without faults at the end")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--confirmations", type=int, default=4)
    ap.add_argument("--max-reorg", type=int, default=3, help="deepest reorg, blocks")
    ap.add_argument("--heartbeat", type=int, default=20, help="report heartbeat_s")
    ap.add_argument("--report-topic", default=None)
    args = ap.parse_args()
    if args.report_topic is None:
        art = os.path.join(os.path.dirname(args.binary), "contracts/RiskOracle.json")
        args.report_topic = report_topic(art)
    soak = Soak(args)
    try:
        ok = soak.run()
    finally:
        for p in soak.procs:
            if p.poll() is None:
                p.kill()
        if soak.daemon and soak.daemon.poll() is None:
            soak.daemon.kill()
    sys.exit(0 if ok else 1)


def report_topic(artifact):
    """keccak256 of ReportAccepted's signature, from the forge artifact's method identifiers
    are not events: read the topic with cast instead."""
    cast = os.path.join(REPO, "node_modules/@foundry-rs/cast-linux-amd64/bin/cast")
    sig = "ReportAccepted(uint64,uint64,uint64,uint64,uint8)"
    return subprocess.run([cast, "keccak", sig], check=True, capture_output=True,
                          text=True).stdout.strip()


if __name__ == "__main__":
    main()
