// varkeeper risk map: the keeper's state from /api/v1/stream (server-sent events, one per tick),
// a portfolio's history from /api/v1/portfolio?id=N. No libraries; SVG charts.
'use strict';
(function () {
  const $ = (id) => document.getElementById(id);
  const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
  const pct = (v) => (v === null || v === undefined || !isFinite(v) ? '–' : (v * 100).toFixed(2) + '%');
  // Thousands separators without Intl (toLocaleString costs ~0.1 ms a call: 1,000 rows x 5).
  const usd = (v) => (v === null || v === undefined || !isFinite(v) ? '–' : (v < 0 ? '-$' : '$') + String(Math.round(Math.abs(v))).replace(/\B(?=(\d{3})+(?!\d))/g, ','));
  const num = (v, d) => (v === null || v === undefined || !isFinite(v) ? '–' : Number(v).toFixed(d));
  const date = (t) => (t ? new Date(t * 1000).toISOString().replace('T', ' ').slice(0, 19) + ' UTC' : '–');

  let state = null;
  let selected = null;
  let view = 'map';
  const perf = { renders: 0, lastRenderMs: 0, firstMapAt: null, allRowsAt: null, portfolios: 0, seq: 0, events: 0 };
  let renderGen = 0;
  window.__vk = perf;

  // VaR against the configured thresholds: below the rebalance reset level, between it and the
  // rebalance trigger, above the trigger, above the payout trigger.
  function level(v, th) {
    if (!isFinite(v)) return 'none';
    if (v >= th.payout_upper) return 'payout';
    if (v >= th.rebalance_upper) return 'rebalance';
    if (v >= th.rebalance_lower) return 'watch';
    return 'ok';
  }
  const RGB = { ok: [46, 158, 91], watch: [216, 155, 29], rebalance: [210, 69, 59], payout: [125, 29, 29], none: [60, 70, 80] };
  const rgba = (lv, a) => 'rgba(' + RGB[lv].join(',') + ',' + a.toFixed(3) + ')';

  function renderLegend(th) {
    $('legend').innerHTML = 'cell: an asset\'s Euler component of VaR (share of the portfolio\'s VaR = intensity); ' +
      'row height: portfolio value; colour: VaR vs thresholds' +
      '<i style="background:' + rgba('ok', 1) + '"></i>&lt; ' + pct(th.rebalance_lower) +
      '<i style="background:' + rgba('watch', 1) + '"></i>&lt; ' + pct(th.rebalance_upper) + ' (rebalance)' +
      '<i style="background:' + rgba('rebalance', 1) + '"></i>&lt; ' + pct(th.payout_upper) + ' (payout)' +
      '<i style="background:' + rgba('payout', 1) + '"></i>above';
  }

  function renderMap() {
    const t0 = performance.now();
    const s = state;
    const assets = s.assets || [];
    const th = s.thresholds || {};
    renderLegend(th);
    const cols = 'minmax(140px,1.4fr) 110px 80px 80px 120px 90px' + ' minmax(70px,1fr)'.repeat(assets.length);
    const maxValue = Math.max(1, ...s.portfolios.map((p) => p.value || 0));
    const parts = ['<div class="row head"><div>portfolio</div><div class="num">value</div>' +
      '<div class="num">VaR</div><div class="num">CVaR</div><div class="num">on chain (round)</div><div>breaker</div>' +
      assets.map((a) => '<div class="cell">' + esc(a) + '</div>').join('') + '</div>'];
    const rowHtml = (p) => {
      const lv = p.has_estimate ? level(p.var, th) : 'none';
      const h = Math.round(20 + 36 * Math.sqrt((p.value || 0) / maxValue));
      const chain = p.onchain ? pct(p.onchain.var) + ' r' + p.onchain.round : '–';
      let cells = '';
      for (const a of assets) {
        const c = (p.components || []).find((x) => x.asset === a);
        if (!c) { cells += '<div class="cell"></div>'; continue; }
        const share = p.var > 0 ? Math.max(0, Math.min(1, c.var / p.var)) : 0;
        cells += '<div class="cell" title="' + esc(a) + ': component VaR ' + pct(c.var) + ' of value, ' + usd(c.var * p.value) +
          '" style="background:' + rgba(lv, 0.2 + 0.8 * share) + '">' + pct(c.var) + '</div>';
      }
      return ('<div class="row' + (selected === p.id ? ' sel' : '') + '" data-pid="' + p.id + '" style="height:' + h + 'px"><div class="c-name" title="' + esc(p.method) + '">' + esc(p.name || 'portfolio ' + p.id) +
        '</div><div class="num c-value">' + usd(p.value) + '</div><div class="num c-var" style="color:' + rgba(lv, 1) + '">' +
        (p.has_estimate ? pct(p.var) : '<span class="dim" title="' + esc(p.note) + '">–</span>') + '</div><div class="num c-cvar">' +
        pct(p.has_estimate ? p.cvar : NaN) + '</div><div class="num c-chain">' + chain + '</div><div><span class="badge b-' +
        esc(p.breaker) + '">' + esc(p.breaker) + '</span></div>' + cells + '</div>');
    };
    $('map').style.setProperty('--cols', cols);
    // A long map goes in two steps: the first screenful at once, the other rows in the next
    // task, so the map is on screen while the rest is parsed.
    const gen = ++renderGen;
    const FIRST = 60;
    $('map').innerHTML = parts[0] + s.portfolios.slice(0, FIRST).map(rowHtml).join('');
    void $('map').offsetHeight;  // laid out: the first screenful is on screen at the next paint
    const firstAt = performance.now();
    if (s.portfolios.length > FIRST) {
      setTimeout(() => {
        if (gen !== renderGen) return;
        $('map').insertAdjacentHTML('beforeend', s.portfolios.slice(FIRST).map(rowHtml).join(''));
        if (perf.allRowsAt === null) perf.allRowsAt = performance.now();
      }, 0);
    } else if (perf.allRowsAt === null && s.portfolios.length > 0) {
      perf.allRowsAt = performance.now();
    }
    perf.lastRenderMs = firstAt - t0;
    perf.renders += 1;
    perf.portfolios = s.portfolios.length;
    if (perf.firstMapAt === null && s.portfolios.length > 0) {
      perf.firstMapAt = firstAt;
      perf.firstMapFromEvent = firstAt - perf.eventAt;
    }
  }

  function renderClock() {
    const s = state;
    $('clock').textContent = 'tick ' + s.tick + ' · block ' + s.block + ' · ' + date(s.time) +
      ' · ' + Object.entries(s.prices || {}).map(([a, v]) => a + ' ' + num(v, 2)).join(' ');
  }

  // The portfolio's history: VaR/CVaR computed, published by the keeper and held by the oracle,
  // thresholds, breaker states shaded, rebalances and payouts marked, round numbers.
  function chart(doc) {
    const hist = doc.history || [];
    const W = 960, H = 280, L = 48, R = 12, T = 12, B = 24;
    if (hist.length < 2) return '<p class="dim">history: ' + hist.length + ' point(s) so far</p>';
    const th = doc.thresholds || {};
    let ymax = 0;
    for (const h of hist) ymax = Math.max(ymax, h.var || 0, h.cvar || 0, h.onchain_cvar || 0, h.published_cvar || 0);
    ymax = Math.max(ymax, th.rebalance_upper || 0) * 1.1 || 1;
    const x = (i) => L + (W - L - R) * i / (hist.length - 1);
    const y = (v) => T + (H - T - B) * (1 - v / ymax);
    const line = (key, color, dash, width) => {
      let d = '';
      hist.forEach((h, i) => { const v = h[key]; if (v === null || v === undefined) return; d += (d ? 'L' : 'M') + x(i).toFixed(1) + ',' + y(v).toFixed(1); });
      return d ? '<path d="' + d + '" fill="none" stroke="' + color + '" stroke-width="' + (width || 1.5) + '"' + (dash ? ' stroke-dasharray="' + dash + '"' : '') + '/>' : '';
    };
    let out = '<svg width="' + W + '" height="' + H + '" role="img" aria-label="VaR history">';
    // Breaker states.
    hist.forEach((h, i) => {
      if (h.breaker === 'normal') return;
      const x0 = x(Math.max(0, i - 0.5)), x1 = x(Math.min(hist.length - 1, i + 0.5));
      out += '<rect x="' + x0 + '" y="' + T + '" width="' + Math.max(1, x1 - x0) + '" height="' + (H - T - B) + '" fill="' +
        (h.breaker === 'tripped' ? 'rgba(210,69,59,0.25)' : 'rgba(216,155,29,0.2)') + '"/>';
    });
    for (let k = 0; k <= 4; k++) {
      const v = ymax * k / 4;
      out += '<line x1="' + L + '" x2="' + (W - R) + '" y1="' + y(v) + '" y2="' + y(v) + '" stroke="#2a3642"/><text x="2" y="' + (y(v) + 4) + '">' + pct(v) + '</text>';
    }
    const hline = (v, color, label) => (v > 0 && v < ymax ? '<line x1="' + L + '" x2="' + (W - R) + '" y1="' + y(v) + '" y2="' + y(v) +
      '" stroke="' + color + '" stroke-dasharray="6 4"/><text x="' + (W - R - 150) + '" y="' + (y(v) - 3) + '">' + label + '</text>' : '');
    out += hline(th.rebalance_upper, '#d89b1d', 'rebalance ' + pct(th.rebalance_upper));
    out += hline(th.rebalance_lower, '#8a6a20', 'rebalance reset ' + pct(th.rebalance_lower));
    out += hline(th.payout_upper, '#d2453b', 'payout ' + pct(th.payout_upper));
    out += line('cvar', '#9a6fd8', '', 1);
    out += line('onchain_cvar', '#9a6fd8', '2 3', 1);
    out += line('var', '#4f8fd8', '', 2);
    out += line('published_var', '#8fc1ff', '5 3', 1.5);
    out += line('onchain_var', '#ffffff', '', 1.5);
    // Round numbers where the oracle's round changes (at most ~16 labels), actions marked.
    let lastRound = null;
    const step = Math.max(1, Math.ceil(hist.length / 16));
    hist.forEach((h, i) => {
      if (h.onchain_round !== null && h.onchain_round !== lastRound) {
        if (i % step === 0 || lastRound === null) {
          out += '<circle cx="' + x(i) + '" cy="' + y(h.onchain_var) + '" r="2.5" fill="#fff"/><text x="' + (x(i) + 3) + '" y="' + (y(h.onchain_var) - 5) + '">r' + h.onchain_round + '</text>';
        }
        lastRound = h.onchain_round;
      }
      if (h.rebalance === 'fired') out += '<text x="' + (x(i) - 4) + '" y="' + (H - B + 14) + '" style="fill:#d89b1d">▲ rebalance</text>';
      if (h.payout === 'fired') out += '<text x="' + (x(i) - 4) + '" y="' + (H - B + 14) + '" style="fill:#d2453b">▲ payout</text>';
    });
    out += '<text x="' + L + '" y="' + (H - 4) + '">tick ' + hist[0].tick + '</text><text x="' + (W - R - 60) + '" y="' + (H - 4) + '">tick ' + hist[hist.length - 1].tick + '</text>';
    out += '</svg><div class="dim">— computed VaR (blue) · - - keeper\'s published VaR · — on-chain VaR (white, round numbers) · CVaR computed / on chain (purple) · shading: breaker tripped (red) / cooldown (amber)</div>';
    return out;
  }

  function renderDetail(doc) {
    const bt = doc.backtest || {};
    const comps = (doc.components || []).map((c) => '<tr><td>' + esc(c.asset) + '</td><td class="num">' + num(c.quantity, 4) + '</td><td>' + usd(c.value) +
      '</td><td>' + pct(c.var) + '</td><td>' + pct(c.cvar) + '</td><td>' + usd(c.var * doc.value) + '</td></tr>').join('');
    const btHtml = bt.note ? '<p class="dim">' + esc(bt.note) + '</p>' :
      '<div class="kv"><span>forecasts with a realised move</span><span>' + bt.n + '</span><span>exceptions (expected)</span><span>' + bt.exceptions + ' (' + num(bt.expected_exceptions, 2) +
      ')</span><span>Kupiec p</span><span>' + num(bt.kupiec_p, 3) + '</span><span>Christoffersen p (independence)</span><span>' + num(bt.christoffersen_p, 3) +
      '</span><span>conditional coverage p</span><span>' + num(bt.conditional_coverage_p, 3) + '</span><span>traffic light</span><span class="z-' + esc(bt.zone) + '">' + esc(bt.zone) + '</span></div>';
    const oc = doc.onchain;
    $('detail').innerHTML = '<div class="panel" data-detail="' + doc.id + '"><h2>' + esc(doc.name) + ' <span class="dim">#' + doc.id + ' · ' + esc(doc.method) + ' · ' +
      (doc.confidence * 100).toFixed(1) + ' % · horizon ' + doc.horizon + ' × ' + doc.period_s + ' s</span></h2>' +
      '<div class="kv"><span>value</span><span>' + usd(doc.value) + '</span><span>VaR / CVaR computed</span><span class="d-var">' + pct(doc.var) + ' / ' + pct(doc.cvar) +
      '</span><span>published by the keeper</span><span>' + pct(doc.published_var) + ' / ' + pct(doc.published_cvar) + ' (' + esc(doc.publish) + ')</span><span>on chain</span><span>' +
      (oc ? pct(oc.var) + ' / ' + pct(oc.cvar) + ' · round ' + oc.round + ' · accepted ' + date(oc.accepted_at) : 'no report yet') + '</span><span>breaker</span><span><span class="badge b-' +
      esc(doc.breaker) + '">' + esc(doc.breaker) + '</span></span></div>' + '<h3>VaR and CVaR over time</h3>' + chart(doc) +
      '<h3>components (Euler)</h3><table><tr><th>asset</th><th>quantity</th><th>value</th><th>VaR</th><th>CVaR</th><th>VaR (USD)</th></tr>' + comps + '</table>' +
      '<h3>rolling backtest of the published VaR</h3>' + btHtml + '</div>';
  }

  function loadDetail() {
    if (selected === null) return;
    const id = selected;
    fetch('/api/v1/portfolio?id=' + id).then((r) => (r.ok ? r.json() : null)).then((doc) => {
      if (doc && selected === id) { $('detail').hidden = false; renderDetail(doc); }
    }).catch(() => {});
  }

  function table(rows, head) {
    return '<table><tr>' + head.map((h) => '<th>' + esc(h) + '</th>').join('') + '</tr>' +
      rows.map((r) => '<tr>' + r.map((c) => '<td>' + c + '</td>').join('') + '</tr>').join('') + '</table>';
  }

  function renderHealth() {
    const k = state.keeper || {};
    const list = (xs) => (xs && xs.length ? '<ul>' + xs.map((x) => '<li>' + esc(x) + '</li>').join('') + '</ul>' : '<p class="dim">none this tick</p>');
    $('view-health').innerHTML = '<div class="panel"><h2>Transactions</h2>' +
      table(Object.entries(k.tx_by_state || {}).map(([s, n]) => [esc(s), n]), ['open, by state', 'count']) +
      '<div class="kv"><span>finalized since start</span><span>' + k.tx_finalized + '</span><span>fatal since start</span><span>' + k.tx_fatal +
      '</span><span>oldest unconfirmed</span><span>' + num(k.oldest_unconfirmed_s, 0) + ' s</span><span>sender balance</span><span>' + num(k.sender_balance_eth, 4) +
      ' ETH</span><span>last tick took</span><span>' + num((k.tick_seconds || 0) * 1000, 0) + ' ms</span></div></div>' +
      '<div class="panel"><h2>RPC endpoints</h2>' + table((k.endpoints || []).map((e) => [esc(e.endpoint), e.head, e.head_lag,
        esc(Object.entries(e.errors || {}).map(([a, b]) => a + ' ' + b).join(', ') || 'none')]), ['endpoint', 'head', 'lag (blocks)', 'errors since start']) + '</div>' +
      '<div class="panel"><h2>This tick</h2><h3>confirmations</h3>' + list(k.confirmations) + '<h3>actions</h3>' + list(k.actions) + '<h3>errors</h3>' + list(k.errors) + '</div>';
  }

  function renderOprisk() {
    const o = state.oprisk || {};
    const totals = Object.entries(o.incidents_total || {});
    const series = o.incidents || [];
    let bars = '<p class="dim">no incidents recorded</p>';
    if (series.length) {
      const W = 900, H = 120, maxN = Math.max(...series.map((s) => Object.values(s.counts).reduce((a, b) => a + b, 0)));
      const t0 = series[0].tick, t1 = Math.max(t0 + 1, state.tick);
      bars = '<svg width="' + W + '" height="' + H + '">' + series.map((s) => {
        const n = Object.values(s.counts).reduce((a, b) => a + b, 0);
        const x = 10 + (W - 20) * (s.tick - t0) / (t1 - t0), h = (H - 20) * n / maxN;
        return '<rect x="' + x + '" y="' + (H - 14 - h) + '" width="3" height="' + h + '" fill="#d89b1d"><title>tick ' + s.tick + ': ' +
          esc(Object.entries(s.counts).map(([c, k]) => c + ' ' + k).join(', ')) + '</title></rect>';
      }).join('') + '<text x="10" y="' + (H - 2) + '">tick ' + t0 + '</text><text x="' + (W - 60) + '" y="' + (H - 2) + '">tick ' + t1 + '</text></svg>';
    }
    const rows = (o.rows || []).map((r) => [esc(r.category), num(r.aro_hybrid, 3), num(r.aro_internal, 3), usd(r.ale)]);
    $('view-oprisk').innerHTML = '<div class="panel"><h2>Incidents by category (since the keeper started)</h2>' +
      (totals.length ? table(totals.map(([c, n]) => [esc(c), n]), ['category', 'count']) : '<p class="dim">none</p>') +
      '<h3>incidents per tick</h3>' + bars + '</div><div class="panel"><h2>ARO and ALE</h2>' +
      (rows.length ? table(rows, ['category', 'ARO (hybrid)', 'ARO (internal only)', 'ALE']) : '<p class="dim">configure [oprisk] to see the annualised rates and losses (varkeeper oprisk)</p>') + '</div>';
  }

  function renderInstruments() {
    const xs = state.instruments || [];
    $('view-instruments').innerHTML = xs.length ? xs.map((i) => '<div class="panel"><h2>' + esc(i.name) + ' <span class="dim">' + esc(i.address) + '</span></h2>' +
      table(i.fields.map(([k, v]) => [esc(k), esc(v)]), ['field', 'value']) + '</div>').join('') :
      '<div class="panel"><p class="dim">the instruments\' state is not read by this keeper yet</p></div>';
  }

  function render() {
    if (!state) return;
    renderClock();
    if (view === 'map') renderMap();
    else if (view === 'health') renderHealth();
    else if (view === 'oprisk') renderOprisk();
    else renderInstruments();
  }

  function apply(s) {
    state = s;
    perf.seq = s.seq;
    perf.events += 1;
    render();
    if (view === 'map') loadDetail();
  }

  function setStatus(live) {
    const el = $('status');
    el.className = 'status ' + (live ? 'live' : 'down');
    el.textContent = live ? 'live' : 'reconnecting';
  }

  function connect() {
    const es = new EventSource('/api/v1/stream');
    es.addEventListener('state', (ev) => { perf.eventAt = performance.now(); apply(JSON.parse(ev.data)); });
    es.onopen = () => setStatus(true);
    es.onerror = () => {
      setStatus(false);
      if (es.readyState === EventSource.CLOSED) { es.close(); setTimeout(connect, 1000); }
    };
  }

  document.querySelector('nav').addEventListener('click', (ev) => {
    const b = ev.target.closest('button');
    if (!b) return;
    view = b.dataset.view;
    for (const x of document.querySelectorAll('nav button')) x.classList.toggle('on', x === b);
    for (const v of ['map', 'health', 'oprisk', 'instruments']) $('view-' + v).hidden = v !== view;
    render();
  });
  $('map').addEventListener('click', (ev) => {
    const row = ev.target.closest('.row[data-pid]');
    if (!row) return;
    selected = Number(row.dataset.pid);
    for (const r of document.querySelectorAll('.row.sel')) r.classList.remove('sel');
    row.classList.add('sel');
    loadDetail();
  });
  connect();
})();
