// The status page: asks /api/status every few seconds and draws it.
// The token comes from #token=... in the address (then forgotten from the
// address) or the form, and is kept in this tab's sessionStorage.
"use strict";

const REFRESH_MS = 5000;
const CLASSES = ["reply", "operator", "fan-out"];

function token() {
  const m = location.hash.match(/token=([^&]+)/);
  if (m) {
    sessionStorage.setItem("pigeon-token", decodeURIComponent(m[1]));
    history.replaceState(null, "", location.pathname);
  }
  return sessionStorage.getItem("pigeon-token");
}

// The page's words in the browser's language (charts.js has the French).
function t_(s) {
  return typeof tr === "function" ? tr(s) : s;
}

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

function row(cells) {
  const tr = el("tr");
  for (const c of cells) {
    if (c instanceof Node) { const td = el("td"); td.appendChild(c); tr.appendChild(td); }
    else tr.appendChild(el("td", c === undefined || c === null || c === "" ? "-" : c,
      typeof c === "number" ? "num" : ""));
  }
  return tr;
}

function fill(id, rows, columns, empty) {
  const body = document.querySelector("#" + id + " tbody");
  body.replaceChildren();
  if (rows.length === 0) {
    const tr = el("tr"), td = el("td", empty, "empty");
    td.colSpan = columns;
    tr.appendChild(td);
    body.appendChild(tr);
  }
  for (const r of rows) body.appendChild(r);
}

// A time the API answered (UTC) in the browser's time zone, as
// "2026-12-06 01:07:35" (charts.js uses it too).
function time(s) {
  if (!s) return "-";
  const d = new Date(s), p = (n) => String(n).padStart(2, "0");
  if (isNaN(d)) return s.replace("T", " ").slice(0, 19);
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ` +
    `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

function pct(n, d) {
  return d > 0 ? (100 * n / d).toFixed(1) + " %" : "-";
}

function draw(st) {
  document.getElementById("host").textContent = st.host;
  const db = document.getElementById("database");
  db.textContent = t_("database") + " " + t_(st.database);
  db.className = "badge " + st.database;
  document.getElementById("updated").textContent =
    t_("updated") + " " + new Date().toLocaleTimeString();

  fill("modems", st.modems.map(m => {
    const state = el("span", m.state, "badge state-" + m.state);
    const sig = m.signal_percent != null ? m.signal_percent + " %" : "-";
    // A bind has no radio: its window in use and its submits a second.
    const net = m.kind === "smpp"
      ? `${m.in_flight ?? 0}/${m.window ?? 0} ${t_("in flight")}` +
        (m.submits_per_second != null ? `, ${m.submits_per_second}/s` : "") +
        (m.throttled ? `, ${t_("throttled")} ${m.throttled}` : "") +
        (m.reconnects ? `, ${t_("reconnects")} ${m.reconnects}` : "")
      : [m.operator_name || m.operator, m.registration].filter(Boolean).join(", ");
    // A bind its SMSC slows down takes no new send until the pause ends.
    const why = m.paused_ms > 0
      ? `${t_("submits paused by the SMSC")} (${m.paused_reason})`
      : m.state_reason || m.last_error || "";
    return row([m.name + (m.local === false ? " (" + m.host + ")" : ""), state, sig, net,
      m.sms_sent ?? 0, m.sms_failed ?? 0,
      (m.sms_in ?? 0) + (m.sms_corrupt ? " (" + m.sms_corrupt + " " + t_("undecodable") + ")" : ""),
      // The SMS parts it sent today, as the carrier bills them.
      m.parts_today ?? 0, why]);
  }), 9, t_("no modems"));

  let total = 0;
  fill("queue", st.queue.map(q => {
    total += q.count;
    return row([q.state, CLASSES[q.class] || q.class, q.count, time(q.oldest)]);
  }), 4, t_("empty: nothing waiting"));
  document.getElementById("queue-total").textContent = t_("queue depth") + " " + total;

  const r = st.recent || {};
  const n = k => r[k] || 0;
  const sent = n("sent") + n("delivered") + n("undelivered");
  const bad = n("failed") + n("expired");
  fill("rates", [
    row([t_("sent"), sent]), row([t_("failed or expired"), bad]),
    row([t_("send success"), pct(sent, sent + bad)]),
    row([t_("delivered"), n("delivered")]), row([t_("undelivered"), n("undelivered")]),
    row([t_("delivery rate (of reports)"), pct(n("delivered"), n("delivered") + n("undelivered"))]),
    row([t_("waiting"), n("queued") + n("sending")]),
  ], 2, "");

  // Reach: each post's copies from the outbox (delivered and failed
  // from the delivery reports); "@" + handle, never a phone number.
  fill("reach", (st.reach || []).map(p => {
    const c = p.reach || {};
    const text = p.text.length > 40 ? p.text.slice(0, 39) + "…" : p.text;
    return row([p.id, "@" + p.handle, time(p.created_at), text, c.queued ?? 0,
      c.sent ?? 0, c.delivered ?? 0, c.failed ?? 0, c.pending ?? 0]);
  }), 9, t_("no posts yet"));

  fill("failures", st.failures.map(f =>
    row([f.id, f.to, f.state, f.modem, f.error, time(f.at)])), 6, t_("no recent failures"));
}

async function refresh() {
  const t = token();
  const err = document.getElementById("error");
  const login = document.getElementById("login");
  if (!t) { login.hidden = false; return; }
  try {
    const res = await fetch("/api/status", { headers: { Authorization: "Bearer " + t } });
    if (res.status === 401) {
      sessionStorage.removeItem("pigeon-token");
      login.hidden = false;
      err.textContent = "the token was refused";
      err.hidden = false;
      return;
    }
    const body = await res.json();
    if (!res.ok) throw new Error(body.error || res.statusText);
    login.hidden = true;
    err.hidden = true;
    draw(body);
  } catch (e) {
    err.textContent = "cannot reach pigeond: " + e.message;
    err.hidden = false;
    const db = document.getElementById("database");
    db.textContent = "database unknown";
    db.className = "badge down";
  }
  setTimeout(refresh, REFRESH_MS);
}

document.getElementById("login").addEventListener("submit", ev => {
  ev.preventDefault();
  sessionStorage.setItem("pigeon-token", document.getElementById("token").value);
  refresh();
});
refresh();
