"""table.py - turn bench/run.sh's raw results into the bench table.

    python3 bench/table.py RESULTS             the table
    python3 bench/table.py --samples RESULTS   every sample, one figure a line

RESULTS holds one sample a line, as bench/run.sh writes them:
    KEY CLIENT VALUE          a sample (a figure for one client, one run)
    na KEY CLIENT REASON...   a figure that could not be measured, and why
    meta NAME VALUE...        facts about the run (sizes, versions, mode)
Every figure is the median of its samples. Prints the markdown table
(figure | etcd.h | baseline | ratio | goal | met/missed) on stdout; exits 1
when a figure has no sample at all and no reason (a bug in run.sh)."""
import statistics
import sys

samples, reasons, meta = {}, {}, {}


def load(path):
    with open(path) as f:
        for line in f:
            w = line.split()
            if not w:
                continue
            if w[0] == "meta":
                meta[w[1]] = " ".join(w[2:])
            elif w[0] == "na":
                reasons.setdefault((w[1], w[2]), " ".join(w[3:]))
            else:
                samples.setdefault((w[0], w[1]), []).append(float(w[2]))


class NA(Exception):
    pass


def med(key, client):
    v = samples.get((key, client))
    if not v:
        raise NA(reasons.get((key, client), "not measured (see the run's log)"))
    return statistics.median(v)


def n_runs(key, client):
    return len(samples.get((key, client), []))


def us(ns):
    return "%.1f µs" % (ns / 1e3) if ns < 1e7 else "%.1f ms" % (ns / 1e6)


def ms(ns):
    return "%.1f ms" % (ns / 1e6)


def count(x):
    return "{:,}".format(int(round(x)))


def kib(b):
    return "%.1f KiB" % (b / 1024.0)


def mib(b):
    return "%.1f MiB" % (b / 1048576.0)


rows, problems = [], []


def row(figure, fn):
    """fn() returns (etcd.h, baseline, ratio, goal, verdict) as strings."""
    try:
        rows.append((figure,) + tuple(fn()))
    except NA as e:
        reason = str(e)
        if reason.startswith("not measured"):
            problems.append(figure)
        rows.append((figure, "n/a: " + reason, "", "", "", "n/a"))


def spread(key, client, base):
    """The interquartile range of the per-run ratios (run i of etcd.h against
    run i of the baseline, which ran next to it), as text; "" when fewer
    than 4 runs. It tells whether a verdict near its bound is within noise."""
    a, b = samples.get((key, client), []), samples.get((key, base), [])
    if len(a) != len(b) or len(a) < 4:
        return ""
    q = statistics.quantiles([x / y for x, y in zip(a, b) if y], n=4)
    return " (runs: IQR %.2f–%.2f)" % (q[0], q[2])


def ratio_row(key, client, base, fmt, goal=None):
    """etcd.h's figure against a baseline's; goal: a ratio bound."""
    def fn():
        a, b = med(key, client), med(key, base)
        r = a / b if b else float("inf")
        if goal is None:
            return fmt(a), fmt(b), "%.2f×" % r, "—", "—"
        return (fmt(a), fmt(b), "%.3f×%s" % (r, spread(key, client, base)), "≤ %.2f×" % goal,
                "met" if r <= goal else "missed")
    return fn


def build():
    big_keys = int(meta.get("big_keys", "100000"))
    body = float(meta.get("big_body", "0") or 0)
    big = "%dk" % (big_keys // 1000) if big_keys >= 1000 else str(big_keys)
    peers = [("raw", "raw loop"), ("curl", "libcurl"), ("py", "Python")]

    # a. round trips
    for op, label, goal in (("get", "get", 1.03), ("put", "put", 1.03), ("readdir", "readdir-1k", None)):
        for base, bname in peers:
            g = goal if base == "raw" else None
            row("a. %s: wall per call vs %s" % (label, bname), ratio_row("rt.%s.wall" % op, "etcdh", base, us, g))
        for base, bname in peers:
            row("a. %s: client CPU per call vs %s" % (label, bname), ratio_row("rt.%s.cpu" % op, "etcdh", base, us))

    # b. instructions per call (callgrind)
    for op, label, goal in (("get", "get", 12000), ("put", "put", None), ("readdir", "readdir-1k", 1000000)):
        def fn(op=op, goal=goal):
            a, b = med("cg." + op, "etcdh"), med("cg." + op, "curl")
            v = ("—", "—") if goal is None else ("≤ " + count(goal), "met" if a <= goal else "missed")
            return (count(a), count(b), "%.2f×" % (a / b)) + v
        row("b. instructions per %s (callgrind Ir) vs libcurl" % label, fn)

    # c. large answers
    def dec():
        a, b = med("dec", "etcdh"), med("dec", "memcpy")
        mbs = lambda ns: body / ns * 1e3           # bytes per ns -> MB/s (10^6 bytes)
        x, y = mbs(a), mbs(b)
        return ("%s MB/s" % count(x), "%s MB/s (memcpy)" % count(y), "%.3f×" % (x / y),
                "≥ 1,000 MB/s", "met" if x >= 1000 else "missed")
    method = meta.get("decode_method", "")
    how = {"internal": "etcd__decode, in memory",
           "api": "public API from an in-process responder, receive included"}.get(method, "in memory")
    row("c. decode of the %s body (%s)" % (mib(body) if body else "big", how), dec)
    row("c. %s readdir from an in-process responder: client CPU vs raw loop" % big,
        ratio_row("srv", "etcdh", "raw", ms))
    row("c. %s readdir end to end: wall vs raw loop" % big, ratio_row("big.wall", "etcdh", "raw", ms, 1.05))
    row("c. %s readdir end to end: client CPU vs raw loop" % big, ratio_row("big.cpu", "etcdh", "raw", ms))

    def rss(base, goal):
        def fn():
            a, b = med("rss", "etcdh") * 1024, med("rss", base) * 1024
            fa = "%s = %.2f× body" % (mib(a), a / body)
            fb = "%s = %.2f× body" % (mib(b), b / body)
            if not goal:
                return fa, fb, "%.2f×" % (a / b), "—", "—"
            return fa, fb, "%.2f×" % (a / b), "≤ 2× body", "met" if a <= 2 * body else "missed"
        return fn
    row("c. %s readdir: peak RSS vs raw loop" % big, rss("raw", True))
    row("c. %s readdir: peak RSS vs libcurl" % big, rss("curl", False))
    def paged():
        a, b = med("rss", "paged") * 1024, med("rss", "etcdh") * 1024
        return ("%s = %.2f× body" % (mib(a), a / body), "%s (etcd_readdir)" % mib(b), "%.3f×" % (a / b),
                "≤ ¼ of etcd_readdir's", "met" if a <= b / 4 else "missed")
    row("c. %s paged readdir (pages of 1,000): peak RSS vs etcd_readdir" % big, paged)

    # d. watch
    for mode, label in (("seq", "sequential puts"), ("txn", "txns of 128 puts")):
        def rate(mode=mode):
            a, b = med("w.%s.recv" % mode, "etcdh"), med("w.%s.recv" % mode, "raw")
            wa, wb = med("w.%s.write" % mode, "etcdh"), med("w.%s.write" % mode, "raw")
            # ratio: etcd.h's received/written against the raw loop's
            return ("%s of %s ev/s" % (count(a), count(wa)), "%s of %s ev/s" % (count(b), count(wb)),
                    "%.2f×" % ((a / wa) / (b / wb)), "—", "—")
        row("d. watch, %s: received vs written events/s" % label, rate)
        if mode == "seq":
            row("d. watch, %s: CPU per event vs raw loop" % label, ratio_row("w.seq.cpu", "etcdh", "raw", us, 1.2))
        else:
            def cpu():
                a, b = med("w.txn.cpu", "etcdh"), med("w.txn.cpu", "raw")
                us2 = lambda ns: "%.2f µs" % (ns / 1e3)
                return (us2(a), us2(b), "%.2f×" % (a / b), "≤ 1.5 µs", "met" if a <= 1500 else "missed")
            row("d. watch, %s: CPU per event" % label, cpu)

        def lag(mode=mode):
            a, b = med("w.%s.lag" % mode, "etcdh"), med("w.%s.lag" % mode, "raw")
            return ("%.2f ms" % (a / 1e6), "%.2f ms" % (b / 1e6), "—", "—", "—")
        row("d. watch, %s: lag after the writer stops" % label, lag)

    # e. footprint
    row("e. -Os object text, without TLS (gcc, x86-64)",
        lambda: (kib(med("fp.text", "etcdh")), "—", "—", "≤ 48 KiB",
                 "met" if med("fp.text", "etcdh") <= 48 * 1024 else "missed"))
    row("e. -Os object text, ETCD_USE_OPENSSL", lambda: (kib(med("fp.tls", "etcdh")), "—", "—", "—", "—"))
    row("e. examples/etcdctl_lite, static musl -Os, stripped: file size",
        lambda: (kib(med("fp.musl", "etcdh")), "—", "—", "—", "—"))

    def allocs():
        a, mx = med("allocs", "etcdh"), med("allocs.max", "etcdh")
        return ("%d (max %d)" % (a, mx), "—", "—", "= 1", "met" if a <= 1 and mx <= 1 else "missed")
    row("e. allocations per get result (ETCD_MALLOC + ETCD_REALLOC, steady state)", allocs)

    def heap(key, goal):
        def fn():
            a = med("heap." + key, "etcdh")
            if goal is None:
                return (kib(a), "—", "—", "—", "—")
            return (kib(a), "—", "—", "≤ %d KiB" % goal, "met" if a <= goal * 1024 else "missed")
        return fn
    row("e. heap: an idle client after its first call", heap("first", 8))
    row("e. heap: after 100 more small gets", heap("get100", 12))
    row("e. heap: each open watch", heap("watch", 8))
    row("e. heap: a lease keeper", heap("keeper", None))
    row("e. heap: a client with 2 watches and a lease keeper", heap("w2k", None))


def main():
    args = sys.argv[1:]
    if len(args) == 2 and args[0] == "--samples":
        load(args[1])
        for (key, client), v in sorted(samples.items()):
            print("%-12s %-6s %s" % (key, client, " ".join("%.0f" % x if abs(x) >= 100 else "%g" % x for x in v)))
        return 0
    if len(args) != 1:
        sys.stderr.write("usage: table.py [--samples] RESULTS\n")
        return 2
    load(args[0])
    build()
    head = ("figure", "etcd.h", "baseline", "ratio", "goal", "met/missed")
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join("---" for _ in head) + "|")
    smoke = meta.get("mode") == "smoke"      # tiny sizes: figures are not judged
    for r in rows:
        if smoke and r[5] in ("met", "missed"):
            r = r[:5] + ("not judged (smoke)",)
        print("| " + " | ".join(c.replace("|", "/") for c in r) + " |")
    if problems:
        sys.stderr.write("table.py: no sample and no reason for: %s\n" % "; ".join(problems))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
