// The web view in a real browser (issue 19): headless Debian chromium driven by playwright-core
// (pinned in package.json) against `varkeeper run` on the embedded chain.
//   node tests/browser/risk_map_test.mjs BINARY CAST ARTIFACT_DIR
// Checks: the page loads with no console errors and no failed requests; the map shows every
// portfolio /metrics reports; the VaR shown equals /metrics and the oracle's latest() (cast)
// within display rounding; after the scripted crash the page follows within two ticks without a
// reload; after a keeper restart it reconnects by itself; 1,000 portfolios render in < 1 s.
// Writes ARTIFACT_DIR/risk-map.png and ARTIFACT_DIR/risk-map-figures.json.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const { chromium } = require(path.join(root, 'node_modules/playwright-core'));

const [binary, cast, artifacts] = process.argv.slice(2);
const TICK_MS = 1500;
const failures = [];
const figures = {};
const check = (ok, what) => { if (!ok) failures.push(what); console.log((ok ? 'ok   ' : 'FAIL ') + what); };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}

// One `varkeeper run` on the embedded chain; its stdout kept to find the chain, the oracle and
// the crash line.
function startKeeper(port, tag) {
  const proc = spawn(binary, ['run', '--metrics-address', '127.0.0.1:' + port, '--tick-ms', String(TICK_MS),
    '--crash-at', '6', '--seed', '3'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const k = { proc, out: '', exited: false };
  proc.stdout.on('data', (d) => { k.out += d; });
  proc.stderr.on('data', (d) => { k.out += d; });
  proc.on('exit', () => { k.exited = true; });
  fs.mkdirSync(artifacts, { recursive: true });
  proc.on('exit', () => fs.writeFileSync(path.join(artifacts, 'keeper-' + tag + '.log'), k.out));
  return k;
}
async function waitFor(fn, ms, what) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error('timed out waiting for ' + what);
    await sleep(100);
  }
}
async function get(port, p) {
  const r = await fetch('http://127.0.0.1:' + port + p);
  return { status: r.status, text: await r.text() };
}
function metricVar(text, id) {
  const m = text.match(new RegExp('^varkeeper_portfolio_var\\{portfolio="' + id + '"\\} (\\S+)$', 'm'));
  return m ? Number(m[1]) : null;
}
function latestOnChain(rpc, oracle, id) {
  const hex = execFileSync(cast, ['call', oracle, 'latest(uint64)', String(id), '--rpc-url', rpc], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim().slice(2);
  const word = (i) => BigInt('0x' + hex.slice(64 * i, 64 * (i + 1)));
  return { round: Number(word(0)), var: Number(word(2)) / 1e18 };
}
const shownPct = (s) => Number(String(s).replace('%', '').split(' ')[0]) / 100;

const port = await freePort();
let keeper = startKeeper(port, 'first');
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox'] });
try {
  await waitFor(() => /metrics http:\/\/127\.0\.0\.1:\d+\/metrics/.test(keeper.out) || keeper.exited, 60000, 'the keeper to start');
  check(!keeper.exited, 'varkeeper run started (operations address 127.0.0.1:' + port + ')');
  const rpc = keeper.out.match(/local chain (http:\/\/127\.0\.0\.1:\d+)/)[1];
  const oracle = keeper.out.match(/RiskOracle (0x[0-9a-fA-F]{40}),/)[1];
  // Wait until every portfolio has an estimate on /metrics and one report on chain.
  const ids = await waitFor(async () => {
    const m = (await get(port, '/metrics')).text;
    const found = [...m.matchAll(/^varkeeper_portfolio_var\{portfolio="(\d+)"\}/gm)].map((x) => Number(x[1]));
    if (!found.length) return null;
    try { for (const id of found) if (latestOnChain(rpc, oracle, id).round < 1) return null; } catch { return null; }
    return found;
  }, 60000, 'estimates and reports');

  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const consoleErrors = [];
  const failed = [];
  let phase = 'load';
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(phase + ': ' + m.text()); });
  page.on('pageerror', (e) => consoleErrors.push(phase + ': ' + e.message));
  page.on('requestfailed', (r) => failed.push(phase + ': ' + r.url() + ' ' + (r.failure() || {}).errorText));
  page.on('response', (r) => { if (r.status() >= 400) failed.push(phase + ': ' + r.url() + ' ' + r.status()); });
  await page.goto('http://127.0.0.1:' + port + '/');
  await page.evaluate(() => { window.__loadedOnce = true; });
  await page.waitForFunction((n) => document.querySelectorAll('#map .row[data-pid]').length === n && window.__vk.seq > 0, ids.length, { timeout: 15000 });
  const shownIds = await page.$$eval('#map .row[data-pid]', (rows) => rows.map((r) => Number(r.dataset.pid)));
  check(JSON.stringify([...shownIds].sort()) === JSON.stringify([...ids].sort()), 'the map shows every portfolio on /metrics: ' + ids.join(', '));

  // The VaR on the page against /metrics and against the chain, read within one tick.
  for (const id of ids) {
    let done = false;
    for (let attempt = 0; attempt < 8 && !done; ++attempt) {
      const seq0 = await page.evaluate(() => window.__vk.seq);
      const row = await page.$eval('#map .row[data-pid="' + id + '"]', (r) => ({ v: r.querySelector('.c-var').textContent, c: r.querySelector('.c-chain').textContent }));
      const m = metricVar((await get(port, '/metrics')).text, id);
      const chain = latestOnChain(rpc, oracle, id);
      const seq1 = await page.evaluate(() => window.__vk.seq);
      const chainRound = Number((row.c.match(/r(\d+)/) || [])[1]);
      if (seq0 !== seq1 || chainRound !== chain.round) { await sleep(200); continue; }
      done = true;
      const tol = 0.00005 + 1e-9;  // half of the last shown digit (0.01 %)
      check(Math.abs(shownPct(row.v) - m) <= tol, 'portfolio ' + id + ': page VaR ' + row.v + ' = /metrics ' + (m * 100).toFixed(4) + '%');
      check(Math.abs(shownPct(row.c) - chain.var) <= tol, 'portfolio ' + id + ': page on-chain ' + row.c + ' = latest() round ' + chain.round + ' ' + (chain.var * 100).toFixed(4) + '%');
    }
    check(done, 'portfolio ' + id + ': page, /metrics and chain read within one tick');
  }
  check(consoleErrors.length === 0, 'no console errors on load ' + JSON.stringify(consoleErrors));
  check(failed.length === 0, 'no failed requests on load ' + JSON.stringify(failed));

  // The scripted crash: the page follows within two ticks, without a reload.
  phase = 'crash';
  const crashLine = await waitFor(() => keeper.out.match(/market: the crash starts at tick (\d+)/), 90000, 'the scripted crash');
  const crashTick = Number(crashLine[1]);
  const seenAt = Date.now();
  const before = await page.evaluate(() => window.__vk.events);
  await page.waitForFunction((t) => Number((document.getElementById('clock').textContent.match(/tick (\d+)/) || [])[1]) >= t + 1, crashTick, { timeout: 2 * TICK_MS + 1000 });
  figures.crash_follow_ms = Date.now() - seenAt;
  const after = await page.evaluate(() => ({ events: window.__vk.events, loaded: window.__loadedOnce === true, navs: performance.getEntriesByType('navigation').length }));
  check(after.loaded && after.navs === 1 && after.events > before, 'after the crash (tick ' + crashTick + ') the page showed tick ' + (crashTick + 1) + ' in ' + figures.crash_follow_ms + ' ms, no reload');
  const state = JSON.parse((await get(port, '/api/v1/state')).text);
  await page.waitForFunction((s) => window.__vk.seq >= s, state.seq, { timeout: 2 * TICK_MS + 1000 });
  // Detail of the first portfolio, then the screenshot.
  await page.click('#map .row[data-pid="' + ids[0] + '"]');
  await page.waitForSelector('#detail [data-detail] svg', { timeout: 10000 });
  await sleep(3 * TICK_MS);
  await page.screenshot({ path: path.join(artifacts, 'risk-map.png'), fullPage: true });
  check(consoleErrors.length === 0 && failed.length === 0, 'no console errors or failed requests through the crash ' + JSON.stringify(consoleErrors.concat(failed)));

  // Restart: stop the keeper, start another on the same address; the page reconnects by itself.
  phase = 'restart';
  const ticksBefore = await page.evaluate(() => window.__vk.seq);
  keeper.proc.kill('SIGTERM');
  await waitFor(() => keeper.exited, 20000, 'the keeper to stop');
  await page.waitForFunction(() => document.getElementById('status').textContent !== 'live', null, { timeout: 10000 });
  const restartAt = Date.now();
  keeper = startKeeper(port, 'second');
  await page.waitForFunction((n) => document.getElementById('status').textContent === 'live' && window.__vk.seq > 0 && window.__vk.seq < n,
    ticksBefore, { timeout: 60000 });
  figures.reconnect_after_restart_ms = Date.now() - restartAt;
  const navs = await page.evaluate(() => ({ loaded: window.__loadedOnce === true, navs: performance.getEntriesByType('navigation').length }));
  check(navs.loaded && navs.navs === 1, 'after a restart the page reconnected by itself in ' + figures.reconnect_after_restart_ms + ' ms (keeper start-up included), no reload');
  figures.restart_phase_browser_messages = consoleErrors.filter((e) => e.startsWith('restart')).length + failed.filter((e) => e.startsWith('restart')).length;

  // 1,000 portfolios: a synthetic state served to the same page code.
  const big = { seq: 1, tick: 1, block: 1, time: 1800000000, assets: ['BTC', 'ETH', 'SOL', 'LINK'], prices: { BTC: 50000, ETH: 2500, SOL: 100, LINK: 15 },
    thresholds: { rebalance_upper: 0.12, rebalance_lower: 0.09, payout_upper: 0.25, payout_lower: 0.15 }, portfolios: [], keeper: {}, oprisk: {}, instruments: [] };
  for (let i = 1; i <= 1000; ++i) {
    const v = 0.02 + 0.3 * ((i * 7919) % 1000) / 1000;
    const comps = big.assets.map((a, k) => ({ asset: a, quantity: 1 + k, value: 1000 * (k + 1), var: v * (k + 1) / 10, cvar: v * (k + 1) / 8 }));
    big.portfolios.push({ id: i, name: 'synthetic-' + i, method: 'historical', confidence: 0.99, horizon: 1, period_s: 86400, has_estimate: true, note: '',
      value: 1e5 + 1e3 * ((i * 31) % 977), var: v, cvar: v * 1.25, published_var: v, published_cvar: v * 1.25, breaker: i % 50 ? 'normal' : 'tripped',
      publish: 'none', rebalance: 'none', payout: 'none', components: comps, onchain: { round: i, var: v, cvar: v * 1.25, observed_at: 0, accepted_at: 0, breaker: 'normal' } });
  }
  // The fixture: the page's own files (as the keeper serves them) and a stream whose one event
  // is the synthetic state.
  const files = {};
  for (const f of ['/', '/app.js', '/style.css']) {
    const r = await fetch('http://127.0.0.1:' + port + f);
    files[f] = { type: r.headers.get('content-type'), body: await r.text() };
  }
  const event = 'retry: 60000\n\nid: 1\nevent: state\ndata: ' + JSON.stringify(big) + '\n\n';
  const fixture = http.createServer((req, res) => {
    if (req.url === '/api/v1/stream') {
      res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store' });
      res.write(event);
      return;  // held open, as the keeper does
    }
    const f = files[req.url];
    if (!f) { res.writeHead(404); res.end(); return; }
    res.writeHead(200, { 'Content-Type': f.type });
    res.end(f.body);
  });
  await new Promise((r) => fixture.listen(0, '127.0.0.1', r));
  const page2 = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await page2.goto('http://127.0.0.1:' + fixture.address().port + '/');
  await page2.waitForFunction(() => document.querySelectorAll('#map .row[data-pid]').length === 1000 && window.__vk.firstMapAt !== null && window.__vk.allRowsAt !== null, null, { timeout: 10000 });
  const p2 = await page2.evaluate(() => ({ firstMapAt: window.__vk.firstMapAt, allRowsAt: window.__vk.allRowsAt, fromEvent: window.__vk.firstMapFromEvent, render: window.__vk.lastRenderMs }));
  figures.render_1000_all_rows_from_navigation_ms = Math.round(p2.allRowsAt);
  figures.load_average_1min = Number(fs.readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
  await page2.close();
  fixture.closeAllConnections();
  fixture.close();
  figures.render_1000_from_navigation_ms = Math.round(p2.firstMapAt);
  figures.render_1000_from_event_ms = Math.round(p2.fromEvent);
  figures.render_1000_map_build_ms = Math.round(p2.render);
  figures.state_1000_bytes = event.length;
  check(p2.firstMapAt < 1000, '1,000 portfolios on screen ' + Math.round(p2.firstMapAt) + ' ms after navigation (' + Math.round(p2.fromEvent) +
    ' ms after the event arrived, first screen built in ' + Math.round(p2.render) + ' ms, all 1,000 rows at ' + Math.round(p2.allRowsAt) + ' ms; state ' + Math.round(event.length / 1024) + ' KiB)');
} catch (e) {
  failures.push(String(e && e.stack || e));
  console.log('FAIL ' + e);
} finally {
  await browser.close();
  if (!keeper.exited) { keeper.proc.kill('SIGTERM'); await waitFor(() => keeper.exited, 20000, 'the keeper to stop').catch(() => keeper.proc.kill('SIGKILL')); }
  fs.mkdirSync(artifacts, { recursive: true });
  fs.writeFileSync(path.join(artifacts, 'risk-map-figures.json'), JSON.stringify(figures, null, 2) + '\n');
  console.log('figures ' + JSON.stringify(figures));
}
if (failures.length) { console.log(failures.length + ' failure(s)'); process.exit(1); }
console.log('risk_map_test: all checks passed');
