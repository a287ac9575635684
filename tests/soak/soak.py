#!/usr/bin/python3
"""The long run of issue 18 (make test-soak): tests/soak/soak.py BUILDDIR

Steady traffic for SOAK_MINUTES (default 30) through the real pigeond,
four pigeon-modem workers and four pigeon-modemsim simulators, and one
SMPP link (pigeon-smpp) bound to the simulated SMSC (tests/smsc, with a
receipt for every submit), on a throwaway PostgreSQL cluster of its own:
members post (and their followers get copies), follow and leave, send
direct messages, ask GET and WHOIS (replies), a quarter of them through
the SMSC's shortcode, and every part sent asks for a delivery report,
which the simulators send back. The scheduler spreads the sends over the
five links. Now and then a worker is SIGKILLed (every SOAK_KILL_S,
default 420 s; pigeon-smpp and a modem worker in turn) and PostgreSQL
restarted, fast or immediate in turn (every SOAK_PG_S, default 660 s;
shorter runs get both more often).

Every SOAK_SAMPLE_S (default 60) it samples pigeond's RSS and open
descriptors, its database connections, the queue depth, and the pickup
latencies of the last interval (an SMS read from a modem to its command
applied; a message queued to sent), and at the end writes, under
SOAK_DIR (default var/soak): soak.csv, soak.txt (the table) and soak.svg
(a plot per series, drawn by this script). It fails (exit 1) on growth
(RSS, descriptors, connections: a leak) or drift (queue, latency), each
judged after the warm-up, last third against first third.

Every process it starts is stopped by it, by process id; the run stops by
itself after SOAK_MINUTES.
"""
import json, os, random, signal, socket, statistics, subprocess, sys, time

top = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
bdir = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(top, "build"))
minutes = float(os.environ.get("SOAK_MINUTES", "30"))
sample_s = float(os.environ.get("SOAK_SAMPLE_S", "60"))
# A short run still gets its faults: at least three kills and two restarts.
kill_s = float(os.environ.get("SOAK_KILL_S", min(420, minutes * 60 / 3.5)))
pg_s = float(os.environ.get("SOAK_PG_S", min(660, minutes * 60 / 2.5)))
out = os.path.abspath(os.environ.get("SOAK_DIR", os.path.join(top, "var", "soak")))
NMODEMS, NMEMBERS = 4, 24
# Members 0-5 text the gateway through the SMSC's shortcode, the others
# through the modems' numbers.
NCARRIER = 6
rng = random.Random(18)
procs = []


def log(msg):
    print(time.strftime("%H:%M:%S"), "soak:", msg, flush=True)


def sh(*argv, check=True):
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, cwd=top)
    if check and r.returncode != 0:
        raise RuntimeError("%s: %s" % (" ".join(argv), r.stdout))
    return r.stdout


def spawn(logname, argv):
    f = open(os.path.join(out, logname), "ab")
    p = subprocess.Popen(argv, stdout=f, stderr=subprocess.STDOUT, cwd=top,
                         start_new_session=True)
    procs.append(p)
    return p


pgdir = os.path.join(out, "pg")


def sql(q):
    """One value (or None while the database is down)."""
    r = subprocess.run(["psql", "-X", "-q", "-A", "-t", conninfo, "-c", q],
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    if r.returncode != 0:
        return None
    v = r.stdout.strip()
    return v if v else None


def phone(i):
    return "+2126990%05d" % i


smscdir = os.path.join(out, "smsc")


def smsc_deliver(frm, text):
    """An MO message through the SMSC's control socket (one JSON line)."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as c:
            c.settimeout(10)
            c.connect(os.path.join(smscdir, "ctl"))
            c.sendall((json.dumps({"cmd": "deliver", "from": frm, "text": text})
                       + "\n").encode())
            c.recv(4096)
    except OSError as e:
        log("smsc deliver: %s" % e)


def deliver(frm, text):
    if int(frm[-5:]) < NCARRIER:
        smsc_deliver(frm, text)
        return
    m = rng.randrange(NMODEMS)
    sh(os.path.join(bdir, "pigeon-modemsim"), "deliver",
       os.path.join(out, "modem%d" % m), frm, text, check=False)


def workers(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def is_smpp(pid):
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip() == "pigeon-smpp"
    except OSError:
        return False


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def sample(pid, t0, since):
    fds = len(os.listdir("/proc/%d/fd" % pid))
    iv = "%d seconds" % max(1, int(time.time() - since))
    row = {
        "minute": round((time.time() - t0) / 60, 1),
        "rss_kb": rss_kb(pid),
        "fds": fds,
        "db_conns": sql("SELECT count(*) FROM pg_stat_activity "
                        "WHERE datname = current_database() "
                        "AND application_name LIKE 'pigeond%'"),
        "queue": sql("SELECT count(*) FROM outbox WHERE state IN ('queued', 'sending')"),
        "inbox_ms": sql("SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY "
                        "extract(epoch FROM processed_at - received_at) * 1000)) "
                        "FROM inbox_messages WHERE processed_at > now() - interval '%s'" % iv),
        "send_ms": sql("SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY "
                       "extract(epoch FROM sent_at - created_at) * 1000)) "
                       "FROM outbox WHERE sent_at > now() - interval '%s'" % iv),
        "posts": sql("SELECT count(*) FROM posts"),
        "sent": sql("SELECT count(*) FROM outbox WHERE state IN ('sent', 'delivered')"),
        "delivered": sql("SELECT count(*) FROM outbox WHERE state = 'delivered'"),
        "smpp_sent": sql("SELECT count(*) FROM outbox WHERE modem = 'carrier' "
                         "AND state IN ('sent', 'delivered')"),
        "smpp_dlvr": sql("SELECT count(*) FROM outbox WHERE modem = 'carrier' "
                          "AND state = 'delivered'"),
    }
    return row


COLS = ["minute", "rss_kb", "fds", "db_conns", "queue", "inbox_ms", "send_ms",
        "posts", "sent", "delivered", "smpp_sent", "smpp_dlvr"]
PLOTS = [("rss_kb", "pigeond RSS (kB)"), ("fds", "open descriptors"),
         ("db_conns", "database connections"), ("queue", "queue depth (queued + sending)"),
         ("inbox_ms", "pickup: SMS to applied, median ms"),
         ("send_ms", "pickup: queued to sent, median ms")]


def num(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


events = []	# (minute, "kill" or "pg"): the faults, drawn on the plot


def write_svg(rows, path):
    w, h, pad = 760, 150, 48
    parts = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
             'font-family="sans-serif" font-size="11">' % (w, h * len(PLOTS) + 10),
             '<rect width="100%" height="100%" fill="white"/>']
    xs = [r["minute"] for r in rows]
    xmax = max(xs[-1], 1) if xs else 1
    for k, (key, title) in enumerate(PLOTS):
        y0 = k * h + 10
        pts = [(r["minute"], num(r[key])) for r in rows if num(r[key]) is not None]
        vmax = max([v for _, v in pts] + [1]) * 1.1
        parts.append('<text x="%d" y="%d" font-weight="bold">%s</text>' % (pad, y0 + 12, title))
        parts.append('<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#999"/>'
                     % (pad, y0 + 18, w - pad - 10, h - 40))
        for frac in (0, 0.5, 1):
            yy = y0 + 18 + (h - 40) * (1 - frac)
            parts.append('<text x="%d" y="%.1f" text-anchor="end">%g</text>'
                         % (pad - 4, yy + 4, round(vmax * frac)))
        parts.append('<text x="%d" y="%d" text-anchor="end">%g min</text>'
                     % (w - 10, y0 + h - 8, round(xmax, 1)))

        def xy(x, v):
            return (pad + (w - pad - 10) * x / xmax,
                    y0 + 18 + (h - 40) * (1 - v / vmax))
        for m, kind in events:
            x = pad + (w - pad - 10) * m / xmax
            parts.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="%s" '
                         'stroke-dasharray="3,3"/>' % (x, y0 + 18, x, y0 + h - 22,
                                                       "#c0392b" if kind == "pg" else "#999"))
        if pts:
            line = " ".join("%.1f,%.1f" % xy(x, v) for x, v in pts)
            parts.append('<polyline fill="none" stroke="#1f5fa8" stroke-width="1.5" '
                         'points="%s"/>' % line)
            for x, v in pts:
                parts.append('<circle cx="%.1f" cy="%.1f" r="2" fill="#1f5fa8"/>' % xy(x, v))
    parts.append('<text x="%d" y="%d" fill="#555">dashed: worker SIGKILLed (grey), '
                 'PostgreSQL restarted (red)</text>' % (pad + 200, 22))
    parts.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(parts) + "\n")


def verdict(rows):
    """Growth or drift, last third against first third after the warm-up."""
    body = rows[max(1, len(rows) // 5):]
    if len(body) < 3:
        return ["too few samples to judge (%d after the warm-up)" % len(body)]
    n = max(1, len(body) // 3)
    first, last = body[:n], body[-n:]

    def vals(rs, key):
        return [num(r[key]) for r in rs if num(r[key]) is not None]
    bad = []
    a, b = vals(first, "rss_kb"), vals(last, "rss_kb")
    if a and b and statistics.mean(b) > statistics.mean(a) * 1.10 + 2048:
        bad.append("RSS grew from %.0f to %.0f kB" % (statistics.mean(a), statistics.mean(b)))
    a, b = vals(first, "fds"), vals(last, "fds")
    if a and b and max(b) > max(a) + 2:
        bad.append("descriptors grew from %d to %d" % (max(a), max(b)))
    a, b = vals(first, "db_conns"), vals(last, "db_conns")
    if a and b and max(b) > max(a):
        bad.append("database connections grew from %d to %d" % (max(a), max(b)))
    a, b = vals(first, "queue"), vals(last, "queue")
    if a and b and statistics.mean(b) > 2 * statistics.mean(a) + 20:
        bad.append("queue drifted from %.0f to %.0f" % (statistics.mean(a), statistics.mean(b)))
    a, b = vals(first, "send_ms"), vals(last, "send_ms")
    if a and b and statistics.median(b) > 2 * statistics.median(a) + 2000:
        bad.append("send pickup drifted from %.0f to %.0f ms"
                   % (statistics.median(a), statistics.median(b)))
    a, b = vals(first, "inbox_ms"), vals(last, "inbox_ms")
    if a and b and statistics.median(b) > 2 * statistics.median(a) + 2000:
        bad.append("SMS pickup drifted from %.0f to %.0f ms"
                   % (statistics.median(a), statistics.median(b)))
    return bad


def main():
    global conninfo
    os.makedirs(out, exist_ok=True)
    for name in os.listdir(out):
        if name.endswith(".log"):
            os.unlink(os.path.join(out, name))
    sh("scripts/pg", "destroy", pgdir)
    conninfo = sh("scripts/pg", "start", pgdir).strip().splitlines()[-1]
    import socket
    so = socket.socket()
    so.bind(("127.0.0.1", 0))
    port = so.getsockname()[1]
    so.close()
    # The carrier: the simulated SMSC, a receipt (DELIVRD) for every
    # submit that asks for one, nothing recorded (the run's disk stays
    # flat); it exits with this script.
    sh("rm", "-rf", smscdir)
    os.makedirs(smscdir)
    spawn("smsc.log", ["node", os.path.join(top, "tests/smsc/smsc.js"), "run", smscdir,
                       "--auto-receipt", "DELIVRD", "--record", "none",
                       "--parent-pid", str(os.getpid())])
    for _ in range(200):
        if os.path.exists(os.path.join(smscdir, "port")):
            break
        time.sleep(0.1)
    else:
        raise RuntimeError("the simulated SMSC did not start; see %s/smsc.log" % out)
    with open(os.path.join(smscdir, "port")) as f:
        smsc_port = int(f.read().strip())
    conf = os.path.join(out, "pigeon.conf")
    # It holds the bind's password: pigeond refuses it readable by others.
    fd = os.open(conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("[pigeon]\ncountry = 212\nlanguage = fr\nhostname = soak\n"
                "shortcode = 40404\nlimit_minute = 1000\nlimit_day = 1000000\n\n"
                "[database]\nconninfo = %s\n\n[http]\nlisten = 127.0.0.1:%d\n\n" % (conninfo, port))
        for i in range(NMODEMS):
            d = os.path.join(out, "modem%d" % i)
            sh("rm", "-rf", d)
            os.makedirs(d)
            spawn("sim%d.log" % i, [os.path.join(bdir, "pigeon-modemsim"), "serve", d])
            f.write("[modem sim%d]\ndevice = %s/tty\nconnection = at\npoll_ms = 200\n"
                    "report = yes\n\n" % (i, d))
        f.write("[smpp carrier]\nhost = 127.0.0.1\nport = %d\nsystem_id = pigeon\n"
                "password = secret\nsource_addr = 40404\nsource_ton = 3\nsource_npi = 0\n"
                "window = 10\nreport = yes\n\n" % smsc_port)
    for i in range(NMODEMS):
        tty = os.path.join(out, "modem%d" % i, "tty")
        for _ in range(100):
            if os.path.lexists(tty):
                break
            time.sleep(0.1)
    gw = spawn("pigeond.log", [os.path.join(bdir, "pigeond"), "-v", "-c", conf])
    for _ in range(600):
        if sql("SELECT count(*) FROM modems WHERE state = 'online'") == str(NMODEMS + 1):
            break
        time.sleep(0.1)
    else:
        raise RuntimeError("links not online; see %s/pigeond.log" % out)
    log("pigeond %d, %d modems and the SMPP link online; %g minutes"
        % (gw.pid, NMODEMS, minutes))
    for i in range(NMEMBERS):
        deliver(phone(i), "JOIN u%02d" % i)
    for i in range(NMEMBERS):
        for j in rng.sample([k for k in range(NMEMBERS) if k != i], 4):
            deliver(phone(i), "FOLLOW u%02d" % j)

    t0 = time.time()
    end = t0 + minutes * 60
    rows, seq = [], 0
    next_sample, next_kill, next_pg = t0, t0 + kill_s, t0 + pg_s
    pg_mode = "fast"
    kills = 0
    last_sample = t0
    while time.time() < end:
        now = time.time()
        if now >= next_sample:
            row = sample(gw.pid, t0, last_sample)
            last_sample = now
            rows.append(row)
            log(" ".join("%s=%s" % (c, row[c]) for c in COLS))
            next_sample += sample_s
        if now >= next_kill:
            # pigeon-smpp and a modem worker in turn.
            ws = [w for w in workers(gw.pid) if is_smpp(w) == (kills % 2 == 1)]
            if ws:
                victim = rng.choice(ws)
                os.kill(victim, signal.SIGKILL)
                events.append(((time.time() - t0) / 60, "kill"))
                log("%s %d SIGKILLed" % ("pigeon-smpp" if kills % 2 else "worker", victim))
            kills += 1
            next_kill += kill_s
        if now >= next_pg:
            sh("scripts/pg", "stop", pgdir, pg_mode)
            events.append(((time.time() - t0) / 60, "pg"))
            log("PostgreSQL stopped (%s)" % pg_mode)
            time.sleep(3)
            sh("scripts/pg", "start", pgdir)
            log("PostgreSQL started")
            pg_mode = "immediate" if pg_mode == "fast" else "fast"
            next_pg += pg_s
        if gw.poll() is not None:
            raise RuntimeError("pigeond exited (%s); see %s/pigeond.log" % (gw.returncode, out))
        # One action a second: mostly posts (fanned out to the followers).
        i = rng.randrange(NMEMBERS)
        j = rng.choice([k for k in range(NMEMBERS) if k != i])
        seq += 1
        r = rng.random()
        if r < 0.55:
            deliver(phone(i), "soak post %d from u%02d about pigeons" % (seq, i))
        elif r < 0.65:
            deliver(phone(i), "FOLLOW u%02d" % j)
        elif r < 0.72:
            deliver(phone(i), "LEAVE u%02d" % j)
        elif r < 0.85:
            deliver(phone(i), "D u%02d hello %d" % (j, seq))
        elif r < 0.95:
            deliver(phone(i), "GET u%02d" % j)
        else:
            deliver(phone(i), "WHOIS u%02d" % j)
        time.sleep(max(0.0, 1.0 - (time.time() - now)))

    # The traffic stops; the backlog must drain.
    log("traffic stopped; waiting for the queue to drain")
    for _ in range(300):
        if sql("SELECT count(*) FROM outbox WHERE state IN ('queued', 'sending') "
               "AND next_attempt_at <= now()") == "0":
            break
        time.sleep(1)
    rows.append(sample(gw.pid, t0, last_sample))
    log(" ".join("%s=%s" % (c, rows[-1][c]) for c in COLS))
    with open(os.path.join(out, "soak.csv"), "w") as f:
        f.write(",".join(COLS) + "\n")
        for r in rows:
            f.write(",".join(str(r[c]) if r[c] is not None else "" for c in COLS) + "\n")
    with open(os.path.join(out, "soak.txt"), "w") as f:
        f.write("".join("%10s" % c for c in COLS) + "\n")
        for r in rows:
            f.write("".join("%10s" % (r[c] if r[c] is not None else "-") for c in COLS) + "\n")
    write_svg(rows, os.path.join(out, "soak.svg"))
    bad = verdict(rows)
    # The SMPP link carried its part, with receipts.
    last = rows[-1]
    print("soak: the SMPP link sent %s of %s messages, %s of them delivered (receipts)"
          % (last["smpp_sent"], last["sent"], last["smpp_dlvr"]))
    if not num(last["smpp_sent"]):
        bad.append("the SMPP link sent nothing")
    elif not num(last["smpp_dlvr"]):
        bad.append("no receipt came back over the SMPP link")
    with open(os.path.join(out, "soak.txt")) as f:
        sys.stdout.write(f.read())
    print("soak: table %s/soak.txt, plot %s/soak.svg" % (out, out))
    if bad:
        print("soak: FAILED: " + "; ".join(bad))
        return 1
    print("soak: no growth, no drift")
    return 0


conninfo = ""
if __name__ == "__main__":
    rc = 1
    try:
        rc = main()
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(20)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        subprocess.run([os.path.join(top, "scripts/pg"), "stop", pgdir],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sys.exit(rc)
