// The status page's charts (issue 16): inline SVG drawn here from
// /api/charts, no library, nothing fetched from elsewhere. Each chart is
// an <svg data-chart="NAME"> whose marks carry data-series and data-value,
// so that a test (or a curious operator) can read the numbers back.
// The words are English or French, as the browser's language says.
"use strict";

const FR = /^fr\b/i.test(navigator.language || "");
const WORDS = {
  "Charts": "Graphiques", "Modems": "Modems", "Queue": "File d’attente",
  "Delivery (latest 1000 messages)": "Distribution (1000 derniers messages)",
  "Reach (latest posts)": "Portée (derniers messages publiés)",
  "Recent failures": "Échecs récents",
  "SMS per hour, last 24 h": "SMS par heure, dernières 24 h",
  "SMS per day, last 30 days": "SMS par jour, 30 derniers jours",
  "Queue depth, last 24 h": "Profondeur de la file, dernières 24 h",
  "Links, last 24 h": "Liens, dernières 24 h",
  "Oldest queued message": "Plus ancien message en attente",
  "sent": "envoyés", "delivered": "remis", "failed": "en échec", "received": "reçus",
  "queued": "en attente", "throughput": "débit", "signal": "signal",
  "none waiting": "aucun en attente", "no samples yet": "pas encore de mesures",
  "Name": "Nom", "State": "État", "Signal": "Signal", "Network": "Réseau",
  "Sent": "Envoyés", "Failed": "Échecs", "In": "Reçus",
  "Parts today": "Segments aujourd'hui",
  "Reason / last error": "Raison / dernière erreur", "Class": "Classe",
  "Count": "Nombre", "Oldest": "Plus ancien", "Show": "Afficher",
  "Post": "Message", "Author": "Auteur", "Posted at": "Publié le", "Text": "Texte",
  "Queued": "En file", "Delivered": "Remis", "Waiting": "En attente", "To": "À",
  "Error": "Erreur", "Queued at": "Mis en file le", "Modem": "Modem", "Id": "N°",
  "database": "base de données", "up": "disponible", "down": "indisponible",
  "updated": "mis à jour", "no modems": "aucun modem",
  "empty: nothing waiting": "vide : rien en attente", "queue depth": "profondeur de la file",
  "failed or expired": "en échec ou expirés", "send success": "envois réussis",
  "undelivered": "non remis", "delivery rate (of reports)": "taux de remise (des accusés)",
  "waiting": "en attente", "no posts yet": "aucun message publié",
  "no recent failures": "aucun échec récent",
  "in flight": "en cours", "throttled": "ralentis", "reconnects": "reconnexions",
  "submits paused by the SMSC": "envois suspendus par le SMSC",
};
const COLORS = { sent: "#2b6cb0", delivered: "#2f855a", failed: "#c53030",
  received: "#b7791f", queued: "#6b46c1", throughput: "#2b6cb0", signal: "#2f855a" };

function tr(s) { return FR && WORDS[s] ? WORDS[s] : s; }

// Static words of the page, once.
function translatePage() {
  document.documentElement.lang = FR ? "fr" : "en";
  for (const e of document.querySelectorAll("h2, th, button")) e.textContent = tr(e.textContent);
}

const NS = "http://www.w3.org/2000/svg";
function svgEl(tag, attrs, text) {
  const e = document.createElementNS(NS, tag);
  for (const k in attrs) e.setAttribute(k, attrs[k]);
  if (text !== undefined) e.textContent = text;
  return e;
}

// Grouped bars: one group per bucket, one bar per series.
function bars(name, buckets, series, label) {
  const W = 720, H = 160, P = 24;
  const max = Math.max(1, ...buckets.flatMap(b => series.map(s => b[s] || 0)));
  const svg = svgEl("svg", { viewBox: `0 0 ${W} ${H + 30}`, class: "chart",
    "data-chart": name, role: "img", "aria-label": tr(label) });
  const gw = (W - P) / Math.max(1, buckets.length), bw = Math.max(1, (gw - 2) / series.length);
  svg.appendChild(svgEl("text", { x: 0, y: 12, class: "axis" }, String(max)));
  svg.appendChild(svgEl("line", { x1: P, y1: H, x2: W, y2: H, class: "axis" }));
  // A day's bar is the service's day ([pigeon] timezone): its name from
  // the API (b.day), not its first instant in the browser's zone, which
  // named every day by the day before where the browser is behind.
  const when = b => b.day || time(b.t).slice(0, 16);
  buckets.forEach((b, i) => {
    series.forEach((s, k) => {
      const v = b[s] || 0, h = Math.round((H - 16) * v / max);
      const r = svgEl("rect", { x: (P + i * gw + k * bw).toFixed(1), y: H - h,
        width: bw.toFixed(1), height: h, fill: COLORS[s],
        "data-series": s, "data-value": v, "data-t": b.t });
      r.appendChild(svgEl("title", {}, `${when(b)} ${tr(s)}: ${v}`));
      svg.appendChild(r);
    });
    if (i % Math.ceil(buckets.length / 8) === 0)
      svg.appendChild(svgEl("text", { x: P + i * gw, y: H + 14, class: "axis" },
        b.day ? b.day.slice(5, 10) :
          name === "daily" ? time(b.t).slice(5, 10) : time(b.t).slice(11, 16)));
  });
  // The legend, with each series' total.
  series.forEach((s, k) => {
    const total = buckets.reduce((a, b) => a + (b[s] || 0), 0);
    svg.appendChild(svgEl("rect", { x: P + k * 150, y: H + 20, width: 10, height: 10, fill: COLORS[s] }));
    svg.appendChild(svgEl("text", { x: P + k * 150 + 14, y: H + 29, class: "legend",
      "data-series": s, "data-total": total }, `${tr(s)} ${total}`));
  });
  return svg;
}

// A line over time (queue depth, a link's throughput or signal).
function line(name, points, key, w, h, series) {
  const svg = svgEl("svg", { viewBox: `0 0 ${w} ${h}`, class: "spark", "data-chart": name,
    "data-series": series || key });
  const vals = points.map(p => p[key]).filter(v => v !== null && v !== undefined);
  if (vals.length === 0) {
    svg.appendChild(svgEl("text", { x: 4, y: h / 2 + 4, class: "axis" }, tr("no samples yet")));
    return svg;
  }
  const max = Math.max(1, ...vals), n = points.length;
  const xy = points.map((p, i) => [n > 1 ? i * (w - 4) / (n - 1) + 2 : w / 2,
    h - 2 - (h - 4) * (p[key] || 0) / max]);
  svg.appendChild(svgEl("polyline", { points: xy.map(a => a[0].toFixed(1) + "," + a[1].toFixed(1)).join(" "),
    fill: "none", stroke: COLORS[series || key] || "#444", "stroke-width": 1.5,
    "data-values": points.map(p => p[key] ?? "").join(" "), "data-last": vals[vals.length - 1] }));
  return svg;
}

function age(s) {
  if (!s) return tr("none waiting");
  if (s < 120) return Math.round(s) + " s";
  if (s < 7200) return Math.round(s / 60) + " min";
  return (s / 3600).toFixed(1) + " h";
}

function drawCharts(c) {
  const box = document.getElementById("charts");
  box.replaceChildren();
  const add = (title, node) => {
    const d = document.createElement("div"); d.className = "chartbox";
    const h = document.createElement("h3"); h.textContent = tr(title);
    d.append(h, node); box.appendChild(d);
  };
  const S = ["sent", "delivered", "failed", "received"];
  add("SMS per hour, last 24 h", bars("hourly", c.hourly || [], S, "SMS per hour, last 24 h"));
  add("SMS per day, last 30 days", bars("daily", c.daily || [], S, "SMS per day, last 30 days"));
  add("Queue depth, last 24 h", line("queue", c.queue || [], "queued", 720, 60));
  const oldest = document.createElement("p");
  oldest.id = "oldest"; oldest.dataset.seconds = Math.round(c.oldest_s || 0);
  oldest.textContent = tr("Oldest queued message") + (FR ? " : " : ": ") + age(c.oldest_s);
  box.appendChild(oldest);
  const t = document.createElement("table"); t.id = "sparks";
  for (const [link, pts] of Object.entries(c.links || {})) {
    const row = t.insertRow();
    row.insertCell().textContent = link;
    row.insertCell().appendChild(line("link-" + link, pts, "sent", 240, 30, "throughput"));
    row.insertCell().appendChild(line("signal-" + link, pts, "signal", 240, 30, "signal"));
  }
  const hd = t.createTHead().insertRow();
  for (const w of ["", "throughput", "signal"]) hd.appendChild(document.createElement("th")).textContent = tr(w);
  add("Links, last 24 h", t);
}

async function refreshCharts() {
  const t = sessionStorage.getItem("pigeon-token");
  if (t) {
    try {
      const res = await fetch("/api/charts", { headers: { Authorization: "Bearer " + t } });
      if (res.ok) drawCharts(await res.json());
    } catch (e) { /* the status part says what is wrong */ }
  }
  // The counts behind them cost more than the status: once a minute.
  setTimeout(refreshCharts, 60000);
}

translatePage();
// After app.js has taken the token from the address.
setTimeout(refreshCharts, 0);
