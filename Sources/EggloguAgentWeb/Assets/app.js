'use strict';
// EGGlogU gateway status page. All API data reaches the DOM as text nodes or
// DOM properties (never parsed as HTML); see el() below.
(() => {
  document.documentElement.classList.add('js'); // app.css hides live sections until this runs
  const REFRESH_MS = 3000;
  const RETRY_MS = 5000;
  const TIMEOUT_MS = 10000;
  const NOTICE_MS = 7000;

  const state = {
    csrf: null, timer: null, noticeTimer: null, refreshing: false, again: false,
    lastOk: null, skewMs: 0, unauthorised: false, busy: new Set(), sigs: {}, conflicts: new Map(),
  };
  const $ = (id) => document.getElementById(id);

  // el(tag, attrs, ...children): strings/numbers become text nodes, nothing is parsed.
  // attrs: class, data-*/aria-* (setAttribute), anything else is a DOM property.
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'class') node.className = v;
      else if (k.startsWith('data-') || k.startsWith('aria-')) node.setAttribute(k, String(v));
      else if (!k.startsWith('on')) node[k] = v;
    }
    append(node, children);
    return node;
  }
  function append(node, children) {
    for (const c of children) {
      if (c === null || c === undefined || c === false) continue;
      if (Array.isArray(c)) append(node, c);
      else if (c instanceof Node) node.appendChild(c);
      else node.appendChild(document.createTextNode(String(c)));
    }
  }
  function replace(node, ...children) {
    node.textContent = '';
    append(node, children);
  }
  function plural(n, one, many) { return `${n} ${n === 1 ? one : many}`; }

  // ---------- time ----------
  const now = () => Date.now() + state.skewMs; // the agent's clock, not the browser's
  function relText(iso) {
    const t = Date.parse(iso);
    if (!iso || Number.isNaN(t)) return iso ? String(iso) : 'never';
    const s = Math.round((now() - t) / 1000);
    if (s < -5) return 'in the future';
    if (s < 5) return 'just now';
    if (s < 60) return `${s} s ago`;
    if (s < 3600) return `${Math.floor(s / 60)} min ago`;
    if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
    return `${Math.floor(s / 86400)} d ago`;
  }
  const pad = (n) => String(n).padStart(2, '0');
  const clock = (d) => `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  function clockText(iso) {
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return String(iso);
    const today = new Date().toDateString() === d.toDateString();
    return today ? clock(d) : `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${clock(d)}`;
  }
  // <time> whose text is refreshed on every tick (relative) or fixed (clock).
  function timeEl(iso, mode) {
    const valid = !!iso && !Number.isNaN(Date.parse(iso));
    const attrs = { class: 'time', title: iso ? String(iso) : '' };
    if (valid) attrs.dateTime = String(iso);
    if (mode !== 'clock') attrs['data-rel'] = '1';
    return el('time', attrs, mode === 'clock' ? clockText(iso) : relText(iso));
  }
  function updateRelTimes() {
    for (const t of document.querySelectorAll('time[data-rel]')) t.textContent = relText(t.title);
  }

  // ---------- HTTP ----------
  class ApiError extends Error {
    constructor(reason, status, code, data) {
      super(reason); this.status = status; this.code = code; this.data = data;
    }
  }
  async function request(url, opts = {}) {
    const ctrl = new AbortController();
    const timer = setTimeout(() => ctrl.abort(), TIMEOUT_MS);
    let res;
    try {
      // no-cache: the browser revalidates with the ETag, and an unchanged list costs a bodiless 304.
      res = await fetch(url, { credentials: 'same-origin', cache: 'no-cache', signal: ctrl.signal, ...opts });
    } catch (e) {
      throw new ApiError(e && e.name === 'AbortError' ? 'timed out' : 'network error', 0, null, null);
    } finally { clearTimeout(timer); }
    let data = null;
    try { data = await res.json(); } catch (e) { data = undefined; }
    if (res.status === 401) throw new ApiError('not authorised', 401, 'unauthorised', data);
    if (!res.ok) {
      const msg = data && typeof data.message === 'string' && data.message ? data.message
        : `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`;
      throw new ApiError(msg, res.status, data && data.error, data);
    }
    if (data === undefined || data === null || typeof data !== 'object') {
      throw new ApiError(`invalid response from ${url.split('?')[0]}`, res.status, null, null);
    }
    return data;
  }
  async function loadSession() {
    const s = await request('/api/session');
    state.csrf = s.csrfToken || null;
    if (s.deviceId || s.farmId) setIdentity(s.farmId, s.deviceId);
    return s;
  }
  async function post(url, body) {
    if (!state.csrf) await loadSession();
    const send = () => request(url, {
      method: 'POST', body: JSON.stringify(body),
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': state.csrf || '' },
    });
    try { return await send(); } catch (e) {
      if (e.status !== 403 || e.code !== 'csrf') throw e;
      await loadSession();
      return send();
    }
  }

  // ---------- banner / notice ----------
  function showBanner(text) {
    const b = $('api-error');
    b.textContent = text;
    b.hidden = false;
    document.body.classList.add('stale');
  }
  function hideBanner() {
    $('api-error').hidden = true;
    document.body.classList.remove('stale');
  }
  function failureBanner(err) {
    if (err.status === 401) {
      state.unauthorised = true;
      showBanner('Not authorised: reload the page and sign in.');
      return;
    }
    const since = state.lastOk ? ` Showing data from ${clock(state.lastOk)}.` : '';
    showBanner(`Cannot reach the agent's API (${err.message}).${since} Retrying every ${RETRY_MS / 1000} s…`);
  }
  function notify(text, isError) {
    const n = $('notice');
    n.textContent = text;
    n.classList.toggle('error', !!isError);
    n.classList.add('visible');
    clearTimeout(state.noticeTimer);
    state.noticeTimer = setTimeout(() => { n.classList.remove('visible'); n.textContent = ''; }, NOTICE_MS);
  }

  // ---------- status ----------
  function setIdentity(farm, device) {
    replace($('identity'), `Farm ${farm || '—'} · Device ${device || '—'}`);
  }
  function setHealth(node, cls, ...text) {
    node.className = `health-value ${cls}`;
    replace(node, ...text);
  }
  function renderStatus(st) {
    if (st.clock && st.clock.now) {
      const t = Date.parse(st.clock.now);
      if (!Number.isNaN(t)) state.skewMs = t - Date.now();
    }
    setIdentity(st.farmId, st.deviceId);
    const svc = st.service;
    const mode = svc && svc.running ? String(svc.mode || 'unknown') : 'stopped';
    const modeCls = ['realtime', 'polling', 'offline', 'stopped'].includes(mode) ? mode : 'unknown';
    for (const chip of [$('mode'), $('mode-chip')]) {
      chip.className = `chip mode-${modeCls}`;
      chip.textContent = mode;
      chip.title = svc && svc.running ? `agent running (pid ${svc.pid})` : 'the sync service is not running';
    }
    const broker = svc && svc.broker;
    if (!svc || !svc.running) setHealth($('broker'), 'muted', 'unknown (service stopped)');
    else if (!broker || !broker.configured) setHealth($('broker'), 'muted', 'not configured (polling)');
    else if (broker.connected) setHealth($('broker'), 'ok', 'connected');
    else setHealth($('broker'), 'bad', 'unreachable', broker.error ? el('span', { class: 'detail' }, broker.error) : null);

    const server = svc && svc.server;
    if (!svc || !svc.running || !server) setHealth($('server'), 'muted', 'unknown (service stopped)');
    else if (server.reachable) setHealth($('server'), 'ok', 'reachable');
    else setHealth($('server'), 'bad', 'unreachable', server.error ? el('span', { class: 'detail' }, server.error) : null);

    const last = st.sync && st.sync.lastSyncAt;
    const catchUp = svc && svc.running && svc.catchUp;
    if (catchUp) {
      const left = catchUp.remaining == null ? '' : `, about ${Number(catchUp.remaining)} left`;
      setHealth($('last-sync'), 'warn', `catching up: ${Number(catchUp.pulled)} records pulled${left}`,
        el('span', { class: 'detail' }, `${Number(catchUp.recordsPerSecond)} records/s`));
    } else {
      setHealth($('last-sync'), last ? '' : 'muted', last ? timeEl(last) : 'never');
    }
    const q = Number(st.unpushed) || 0;
    setHealth($('queued'), q > 0 ? 'warn' : '', String(q));
    const n = st.conflicts ? Number(st.conflicts.unresolved) || 0 : 0;
    setBadge(n);
  }
  function setBadge(n) {
    const b = $('conflict-badge');
    b.className = n > 0 ? 'badge badge-alert' : 'badge badge-none';
    b.textContent = n > 0 ? plural(n, 'conflict', 'conflicts') : 'No conflicts';
  }

  // ---------- conflicts ----------
  const fmt = (v) => (typeof v === 'string' ? v : JSON.stringify(v));
  function side(s) { return s || { deleted: false, by: '?', at: null, record: null }; }
  function kindLabel(c) {
    const mine = side(c.mine).by || '?';
    const theirs = side(c.theirs).by || '?';
    if (c.kind === 'delete-vs-edit') return `Deleted on ${theirs}, edited on ${mine}`;
    if (c.kind === 'edit-vs-delete') return `Edited on ${theirs}, deleted on ${mine}`;
    if (c.kind === 'concurrent-edit') return `Edited on both ${mine} and ${theirs}`;
    return `Conflict (${c.kind}) between ${mine} and ${theirs}`;
  }
  function valueCell(f, key, label) {
    const has = Object.prototype.hasOwnProperty.call(f, key);
    const v = has ? fmt(f[key]) : '—';
    const cls = !has ? 'absent' : v === '' ? 'empty-string' : typeof f[key] === 'string' ? 'str' : 'json';
    return el('td', { 'data-label': label }, el('span', { class: `value ${cls}` }, v === '' ? '""' : v));
  }
  function renderConflict(c) {
    const mine = side(c.mine), theirs = side(c.theirs);
    const mineLabel = `Mine (archived)${mine.deleted ? ', deleted' : ''}`;
    const theirsLabel = `Theirs (kept)${theirs.deleted ? ', deleted' : ''}`;
    const tag = (s) => (s.deleted ? el('span', { class: 'tag-deleted' }, 'deleted') : null);
    const fields = Array.isArray(c.fields) ? c.fields : [];
    const rows = fields.map((f) => el('tr', { class: f.differs ? 'differs' : '' },
      el('th', { scope: 'row' }, String(f.field)),
      valueCell(f, 'mine', mineLabel), valueCell(f, 'theirs', theirsLabel)));
    const table = fields.length ? el('table', { class: 'diff' },
      el('thead', null, el('tr', null,
        el('th', { scope: 'col' }, 'Field'),
        el('th', { scope: 'col' }, 'Mine (archived) ', tag(mine)),
        el('th', { scope: 'col' }, 'Theirs (kept) ', tag(theirs)))),
      el('tbody', null, rows)) : el('p', { class: 'empty' }, 'No field data.');
    const who = (s) => [s.deleted ? 'deleted' : 'edited', ` on ${s.by || '?'}`,
      s.at ? [' ', timeEl(s.at), ' (', timeEl(s.at, 'clock'), ')'] : null];
    return el('article', { class: 'conflict', 'data-conflict-id': c.id },
      el('h3', null, `${c.collection} / ${c.recordId}`),
      el('p', { class: 'kind' }, kindLabel(c)),
      el('ul', { class: 'sides' },
        el('li', null, el('strong', null, 'Mine (archived): '), who(mine)),
        el('li', null, el('strong', null, 'Theirs (kept): '), who(theirs))),
      el('div', { class: 'table-wrap' }, table),
      el('div', { class: 'actions' },
        el('button', { type: 'button', class: 'btn', 'data-action': 'keep-mine' }, 'Keep mine'),
        el('button', { type: 'button', class: 'btn btn-primary', 'data-action': 'accept-theirs' },
          theirs.deleted ? 'Accept deletion' : 'Accept theirs')));
  }
  function renderConflicts(data) {
    const list = Array.isArray(data.conflicts) ? data.conflicts : [];
    state.conflicts = new Map(list.map((c) => [c.id, c]));
    if (typeof data.unresolved === 'number') setBadge(data.unresolved);
    if (!changed('conflicts', list)) return;
    replace($('conflict-list'), list.length ? list.map(renderConflict)
      : el('p', { class: 'empty' }, 'No unresolved conflicts.'));
  }

  // ---------- deleted ----------
  function truncate(s, n) { return s.length > n ? `${s.slice(0, n - 1)}…` : s; }
  function summary(rec) {
    if (!rec || typeof rec !== 'object') return '(no data)';
    const parts = Object.keys(rec).filter((k) => k !== 'id').slice(0, 3)
      .map((k) => `${k}: ${truncate(fmt(rec[k]) ?? '', 40)}`);
    return parts.length ? truncate(parts.join(' · '), 140) : '(no fields)';
  }
  function renderDeleted(data) {
    const list = Array.isArray(data.deleted) ? data.deleted : [];
    if (!changed('deleted', list)) return;
    replace($('deleted-list'), list.length ? el('ul', { class: 'deleted-items' }, list.map((d) => el('li', {
      class: 'deleted-item', 'data-collection': d.collection, 'data-id': d.id,
    },
    el('div', { class: 'deleted-text' },
      el('strong', { class: 'ref' }, `${d.collection} / ${d.id}`),
      el('span', { class: 'summary' }, summary(d.record)),
      el('span', { class: 'meta' }, 'deleted ', timeEl(d.deletedAt), ` on ${d.deletedBy || '?'}`)),
    el('button', {
      type: 'button', class: 'btn', 'data-action': 'restore',
    }, 'Undo'))))
      : el('p', { class: 'empty' }, 'Nothing deleted in the last 7 days.'));
  }

  // ---------- events ----------
  const FAILURES = new Set(['sync-failed', 'broker-disconnected']);
  function renderEvents(data) {
    const list = (Array.isArray(data.events) ? data.events : []).slice(0, 100);
    if (!changed('events', list)) return;
    replace($('event-list'), list.length ? el('ol', { class: 'event-items' }, list.map((e) => el('li', {
      class: FAILURES.has(e.kind) ? 'event failure' : 'event', 'data-kind': e.kind,
    }, timeEl(e.at, 'clock'), el('span', { class: 'event-kind' }, String(e.kind)),
    el('span', { class: 'event-msg' }, e.message == null ? '' : String(e.message)))))
      : el('p', { class: 'empty' }, 'No sync events yet.'));
  }

  // Rebuild a section only when its data changed, so buttons and focus survive ticks.
  function changed(key, data) {
    const sig = JSON.stringify(data);
    if (state.sigs[key] === sig) return false;
    state.sigs[key] = sig;
    return true;
  }

  // ---------- refresh loop ----------
  async function refresh() {
    if (state.refreshing) { state.again = true; return; }
    state.refreshing = true;
    clearTimeout(state.timer);
    let ok = false;
    try {
      const results = await Promise.allSettled([
        request('/api/status'), request('/api/conflicts'),
        request('/api/events'), request('/api/deleted?since=7d&limit=50'),
      ]);
      const renderers = [renderStatus, renderConflicts, renderEvents, renderDeleted];
      let failure = null;
      results.forEach((r, i) => {
        if (r.status === 'rejected') { if (!failure || r.reason.status === 401) failure = r.reason; return; }
        try { renderers[i](r.value); } catch (e) { failure = failure || new ApiError(`unexpected data: ${e.message}`, 0); }
      });
      syncBusyButtons();
      if (failure) failureBanner(failure);
      else {
        ok = true;
        state.unauthorised = false;
        state.lastOk = new Date();
        hideBanner();
        replace($('refreshed'), `refreshed ${clock(state.lastOk)}`);
      }
      updateRelTimes();
    } finally {
      state.refreshing = false;
      if (state.again) { state.again = false; refresh(); } else if (!state.unauthorised) schedule(ok ? REFRESH_MS : RETRY_MS);
    }
  }
  function schedule(ms) {
    clearTimeout(state.timer);
    state.timer = setTimeout(() => {
      if (document.hidden) schedule(REFRESH_MS); else refresh();
    }, ms);
  }

  // ---------- actions ----------
  function busyKey(btn) {
    const a = btn.closest('article[data-conflict-id]');
    if (a) return `c:${a.dataset.conflictId}`;
    const li = btn.closest('li[data-collection]');
    return li ? `d:${li.dataset.collection}/${li.dataset.id}` : '';
  }
  // Buttons may be rebuilt while a request is in flight, so derive disabled from state.busy.
  function syncBusyButtons() {
    for (const b of document.querySelectorAll('#conflict-list button[data-action], #deleted-list button[data-action]')) {
      b.disabled = state.busy.has(busyKey(b));
    }
  }
  async function withBusy(key, fn) {
    if (state.busy.has(key)) return;
    state.busy.add(key);
    syncBusyButtons();
    try { await fn(); } finally {
      state.busy.delete(key);
      syncBusyButtons();
      refresh();
    }
  }
  function actionError(e) {
    if (e.status === 401) { failureBanner(e); notify('Not authorised: reload the page and sign in.', true); return; }
    notify(e.status ? e.message : `Cannot reach the agent's API (${e.message}).`, true);
  }
  function resolveConflict(article, choice) {
    const id = article.dataset.conflictId;
    const c = (state.conflicts && state.conflicts.get(id)) || {};
    const ref = `${c.collection}/${c.recordId}`;
    return withBusy(`c:${id}`, async () => {
      try {
        const res = await post(`/api/conflicts/${encodeURIComponent(id)}/resolve`, { choice });
        const theirsDeleted = side(c.theirs).deleted;
        if (choice === 'keep-mine') {
          if (res.republished === 'deleted-again') notify(`Kept the deletion of ${ref}: it is deleted on every device`);
          else notify(res.republished === 'restored' || theirsDeleted
            ? `Kept your version of ${ref}: it is live again on every device`
            : `Kept your version of ${ref}`);
        } else {
          notify(theirsDeleted ? `Accepted the deletion of ${ref}` : `Accepted the other version of ${ref}`);
        }
      } catch (e) {
        if (e.status === 409) notify('Already resolved on another device');
        else actionError(e);
      }
    });
  }
  function restore(li) {
    const collection = li.dataset.collection, id = li.dataset.id;
    return withBusy(`d:${collection}/${id}`, async () => {
      try {
        const res = await post('/api/restore', { collection, id });
        notify(res.outcome === 'already-live' ? `${collection}/${id} is already live` : `Restored ${collection}/${id}`);
      } catch (e) { actionError(e); }
    });
  }

  document.addEventListener('click', (ev) => {
    const btn = ev.target.closest('button[data-action]');
    if (!btn || btn.disabled) return;
    const action = btn.dataset.action;
    if (action === 'keep-mine' || action === 'accept-theirs') {
      const article = btn.closest('article[data-conflict-id]');
      if (article) resolveConflict(article, action);
    } else if (action === 'restore') {
      const li = btn.closest('li[data-collection]');
      if (li) restore(li);
    }
  });
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden && !state.unauthorised) refresh();
  });

  loadSession().catch(() => { /* POSTs retry the session; GET failures show the banner */ });
  refresh();
})();
