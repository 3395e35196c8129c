"""Turns bench/run's result lines into one Markdown table: medians with
min-max over the repetitions, wsloop beside every peer library and raw TCP
(raw TLS for the wss:// cells), with wsloop's ratio to raw and to the best
peer of each row, which is named. With --syscalls, the system calls per
message of bench/run's BENCH_STRACE=1 mode instead."""

import statistics
import sys
from collections import defaultdict

# Column order; the peers are the other WebSocket libraries.
LIBS = ["wsloop", "lws", "beast", "beast-64k", "websocketpp", "raw"]
PEERS = ["lws", "beast", "beast-64k", "websocketpp"]
HEADS = {
    "wsloop": "wsloop",
    "lws": "libwebsockets",
    "beast": "Boost.Beast",
    "beast-64k": "Beast, 64 KiB write buffer",
    "websocketpp": "WebSocket++",
    "raw": "raw TCP (TLS for wss://)",
}
# How the best-peer column names a peer.
SHORT = {"lws": "lws", "beast": "Beast", "beast-64k": "Beast 64k", "websocketpp": "WebSocket++"}
TITLES = {
    "1x1-16": "1 conn × 1 in flight, 16 B",
    "1x1-1k": "1 conn × 1 in flight, 1 KiB",
    "1x1-64k": "1 conn × 1 in flight, 64 KiB",
    "1x1-1m": "1 conn × 1 in flight, 1 MiB",
    "1x64-16": "1 conn × 64 in flight, 16 B",
    "1x64-1k": "1 conn × 64 in flight, 1 KiB",
    "1x64-64k": "1 conn × 64 in flight, 64 KiB",
    "100x1-16": "100 conns × 1, 16 B",
    "100x1-1k": "100 conns × 1, 1 KiB",
    "1000x1-16": "1000 conns × 1, 16 B",
    "1000x1-1k": "1000 conns × 1, 1 KiB",
    "idle1000-1k": "1 active conn + 1000 idle, 1 KiB",
    "idle10000-1k": "1 active conn + 10,000 idle, 1 KiB",
    "idle100000-1k": "1 active conn + 100,000 idle, 1 KiB (spread over 127.0.0.x)",
    "wss-1x1-1k": "wss:// 1 conn × 1 in flight, 1 KiB",
    "wss-1x1-64k": "wss:// 1 conn × 1 in flight, 64 KiB",
    "wss-1x64-1k": "wss:// 1 conn × 64 in flight, 1 KiB",
    "wss-1x64-64k": "wss:// 1 conn × 64 in flight, 64 KiB",
    "threads-1": "1 context (1 thread) × 100 conns × 1, 1 KiB",
    "threads-n": "1 context per core (all cores) × 100 conns × 1, 1 KiB, total",
    "z-1x64-1k-json": "permessage-deflate, 1 conn × 64 in flight, 1 KiB JSON-like text",
    "z-1x64-64k-json": "permessage-deflate, 1 conn × 64 in flight, 64 KiB JSON-like text",
    "z-1x64-64k-random": "permessage-deflate, 1 conn × 64 in flight, 64 KiB random bytes",
}
CALLGRIND = {
    "callgrind": "callgrind, 1 conn × 1, 1 KiB",
    "callgrind-noavx2": "callgrind, 1 conn × 1, 1 KiB, without AVX2 (SSE2 paths)",
    "callgrind-idle": "callgrind, 1 active + 10,000 idle, 1 KiB",
    "callgrind-idle100k": "callgrind, 1 active + 100,000 idle, 1 KiB",
    "callgrind-wss": "callgrind, wss:// 1 conn × 1, 1 KiB",
    "callgrind-z": "callgrind, permessage-deflate 1 conn × 1, 1 KiB JSON-like text",
}


def parse(path):
    runs = defaultdict(list)
    order = []
    with open(path) as f:
        for line in f:
            kv = dict(p.split("=", 1) for p in line.split() if "=" in p)
            key = (kv["cell"], kv["lib"])
            if kv["cell"] not in order:
                order.append(kv["cell"])
            runs[key].append(kv)
    return runs, order


def num(x):
    if x >= 100_000:
        return f"{x / 1000:.0f}k"
    if x >= 10_000:
        return f"{x / 1000:.1f}k"
    if x >= 100:
        return f"{x:.0f}"
    if x >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


def stat(rows, field):
    vals = [float(r[field]) for r in rows if field in r and "failed" not in r]
    if not vals:
        return None, ""
    med = statistics.median(vals)
    if len(vals) == 1:
        return med, num(med)
    return med, f"{num(med)} ({num(min(vals))}–{num(max(vals))})"


def ratio(a, b):
    return f"{a / b:.2f}" if a is not None and b else "–"


def best_peer(meds, higher_is_better):
    """The peer with the best median in a row, or None when no peer ran."""
    ran = [lib for lib in PEERS if meds.get(lib) is not None]
    if not ran:
        return None
    pick = max if higher_is_better else min
    return pick(ran, key=lambda lib: meds[lib])


def versus_best(meds, higher_is_better):
    best = best_peer(meds, higher_is_better)
    if best is None:
        return "–", None
    return f"{ratio(meds.get('wsloop'), meds[best])} ({SHORT[best]})", best


def row(*cells):
    print("| " + " | ".join(cells) + " |")


def syscalls(path):
    """bench/run's BENCH_STRACE=1 lines: system calls per message of each
    client, from two runs with n1 < n2 messages per connection, and the
    calls wsloop makes most per message."""
    runs, order = parse(path)
    row("cell", *(HEADS[lib] for lib in LIBS), "wsloop/raw", "wsloop's calls per message")
    row(*["---"] * (len(LIBS) + 3))
    for cell in order:
        per = {}
        for lib in LIBS:
            got = sorted(runs.get((cell, lib), []), key=lambda r: int(r["n"]))
            if len(got) != 2:
                continue
            a, b = got
            msgs = (int(b["n"]) - int(a["n"])) * int(b["active"])
            per[lib] = (int(b["calls"]) - int(a["calls"])) / msgs
            if lib == "wsloop":
                each = {k[3:]: (int(b.get(k, 0)) - int(a.get(k, 0))) / msgs for k in b if k.startswith("sc.")}
                top = sorted(each.items(), key=lambda kv: -kv[1])
                detail = ", ".join(f"{name} {v:.2f}" for name, v in top if v >= 0.01)
        row(TITLES.get(cell, cell), *(f"{per[lib]:.2f}" if lib in per else "–" for lib in LIBS),
            ratio(per.get("wsloop"), per.get("raw")), detail if "wsloop" in per else "")


def main():
    if sys.argv[1] == "--syscalls":
        return syscalls(sys.argv[2])
    runs, order = parse(sys.argv[1])
    row("cell", "metric", *(HEADS[lib] for lib in LIBS), "wsloop/raw", "wsloop/best peer",
        "CPU % client/server (wsloop; best peer; raw)")
    row(*["---"] * (len(LIBS) + 5))
    for cell in order:
        if cell in CALLGRIND:
            continue
        first = next((runs[(cell, lib)] for lib in LIBS if runs.get((cell, lib))), [])
        size = int(first[0].get("size", 0)) if first else 0
        if cell.startswith("setup-"):
            # (field, label, higher is better)
            metrics = [("connect_ms", "setup ms", False), ("rss_per_conn_b", "RSS B/conn", False),
                       ("rss_peak_kib", "peak RSS KiB", False)]
            title = f"setup of {cell[6:]} conns (+1 echo each)"
        else:
            field = "mib_per_s" if size >= 65536 else "msgs_per_s"
            metrics = [(field, "MiB/s" if size >= 65536 else "msg/s", True)]
            title = TITLES.get(cell, cell)
        for field, label, higher in metrics:
            meds, texts = {}, {}
            for lib in LIBS:
                meds[lib], texts[lib] = stat(runs.get((cell, lib), []), field)
            versus, best = versus_best(meds, higher)
            cpu = "; ".join(
                f"{stat(runs.get((cell, lib), []), 'cpu_pct')[1].split(' ')[0] or '–'}/"
                f"{stat(runs.get((cell, lib), []), 'server_cpu_pct')[1].split(' ')[0] or '–'}"
                for lib in ["wsloop", best, "raw"]
            ) if not cell.startswith("setup-") else ""
            row(title, label, *(texts[lib] or "–" for lib in LIBS), ratio(meds["wsloop"], meds["raw"]),
                versus, cpu)
            title = ""
        down = {}
        for lib in LIBS:
            for r in runs.get((cell, lib), []):
                if "timed_out" in r:
                    down.setdefault(lib, []).append(
                        f"{r.get('established')}/{r.get('conns')} up, stalled (gave up after {r['timed_out']} s)")
                elif "failed" in r and "established" in r:
                    down.setdefault(lib, []).append(
                        f"{r['established']}/{r['conns']} up, {r.get('errors')} connect errors")
                elif "failed" in r:
                    down.setdefault(lib, []).append("failed")
                elif cell.startswith("setup-") and r.get("msgs") != r.get("conns"):
                    down.setdefault(lib, []).append(f"echoes {r.get('msgs')}/{r.get('conns')}")
        if down:
            row("", "runs that did not finish", *("; ".join(sorted(set(down.get(lib, [])))) for lib in LIBS),
                "", "", "")
    for cell, title in CALLGRIND.items():
        ir = {}
        for lib in LIBS:
            got = {int(r["n"]): int(r["ir"]) for r in runs.get((cell, lib), []) if r.get("ir")}
            if 500 in got and 5500 in got:
                ir[lib] = (got[5500] - got[500]) / 5000
        if not ir:
            continue
        row(title, "instructions/msg", *(f"{ir[lib]:,.0f}" if lib in ir else "–" for lib in LIBS),
            ratio(ir.get("wsloop"), ir.get("raw")), versus_best(ir, False)[0], "")


if __name__ == "__main__":
    main()
