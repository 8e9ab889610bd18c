#!/usr/bin/python3
"""Parses load-tool output into JSON lines and turns them into the benchmark's markdown table.

    http1_report.py record --out FILE.jsonl --tool h2load|wrk|handshakes --stdout OUT
                           [--log H2LOAD_LOG] [--upstream-opened N --upstream-open N] [--syscalls N]
                           --threads N --round R --scenario S --target T
                           --cpu-ticks T --backend-ticks T --wall-s S --clk-tck HZ
    http1_report.py table FILE.jsonl [--reference haproxy]

--tool handshakes reads lib/handshake_load.sh's output: one request per TLS connection, so
req/s and CPU/req are handshakes/s and CPU per handshake. Optional figures (upstream connections,
resumed handshakes) get a column when a run has them. Standard library only. Medians over rounds; ratios are taken target vs reference within the
same round and scenario (the two ran minutes apart on the same machine), then their median.
"""

import argparse
import json
import re
import statistics
import sys
from collections import defaultdict


def percentile(sorted_values, pct):
    """Nearest-rank percentile of an ascending list (what wrk and HdrHistogram report)."""
    if not sorted_values:
        return 0
    rank = max(1, int(round(pct / 100.0 * len(sorted_values) + 0.5)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def parse_h2load(stdout_text, log_path):
    m = re.search(r"finished in [\d.]+\w*, ([\d.]+) req/s", stdout_text)
    req = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, "
                    r"(\d+) failed, (\d+) errored, (\d+) timeout", stdout_text)
    codes = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", stdout_text)
    if not (m and req and codes):
        raise ValueError("h2load output has no summary (did it run?)")
    latencies = []
    if log_path:
        with open(log_path) as f:
            for line in f:
                cols = line.split("\t")
                if len(cols) >= 3 and cols[1].isdigit():
                    latencies.append(int(cols[2]))  # µs until the end of the response
    latencies.sort()
    # A request done without a status code h2load could read (an answer its parser rejects) is
    # in neither the status codes nor "errored": count it as an error, not as served.
    statuses = sum(int(codes.group(i)) for i in range(1, 5))
    return {
        "rps": float(m.group(1)),
        "requests": int(req.group(3)),
        "non2xx": int(codes.group(2)) + int(codes.group(3)) + int(codes.group(4)),
        "socket_errors": max(int(req.group(6)) + int(req.group(7)), int(req.group(3)) - statuses),
        "p50_us": percentile(latencies, 50),
        "p99_us": percentile(latencies, 99),
    }


def parse_wrk(stdout_text):
    m = re.search(r"^WRK_JSON (\{.*\})$", stdout_text, re.M)
    if not m:
        raise ValueError("wrk output has no WRK_JSON line (did it run?)")
    d = json.loads(m.group(1))
    duration_s = d["duration_us"] / 1e6
    return {
        "rps": d["requests"] / duration_s if duration_s else 0.0,
        "requests": d["requests"],
        "non2xx": d["non2xx"],
        "socket_errors": d["socket_errors"],
        "p50_us": d["p50_us"],
        "p99_us": d["p99_us"],
    }


def parse_handshakes(stdout_text):
    m = re.search(r"^HANDSHAKE_JSON (\{.*\})$", stdout_text, re.M)
    if not m:
        raise ValueError("handshake_load.sh printed no HANDSHAKE_JSON line (did it run?)")
    d = json.loads(m.group(1))
    row = {
        "rps": d["connections"] / d["seconds"] if d["seconds"] else 0.0,
        "requests": d["connections"],
        "non2xx": d["non2xx"],
        "socket_errors": d["errors"],
        "p50_us": None,
        "p99_us": None,
    }
    if d.get("resumed") is not None and d["connections"]:
        row["resumed_pct"] = 100.0 * d["resumed"] / d["connections"]
    return row


PARSERS = {
    "h2load": lambda text, log: parse_h2load(text, log),
    "wrk": lambda text, log: parse_wrk(text),
    "handshakes": lambda text, log: parse_handshakes(text),
}

# Optional per-run figures: (key, column title, format of the median).
OPTIONAL_COLUMNS = [
    ("upstream_opened", "upstream conns opened", lambda v: fmt_num(v, 0)),
    ("upstream_open", "upstream conns open at end", lambda v: fmt_num(v, 0)),
    ("resumed_pct", "resumed", lambda v: "—" if v is None else f"{v:.0f}%"),
    ("syscalls_per_req", "syscalls/req", lambda v: fmt_num(v, 2)),
]


def cmd_record(a):
    with open(a.stdout) as f:
        text = f.read()
    try:
        row = PARSERS[a.tool](text, a.log)
    except ValueError as e:
        # A failed run is recorded as such, so that the table shows it rather than hides it.
        print(f"http1_report: {a.target} {a.scenario} round {a.round}: {e}", file=sys.stderr)
        row = {"rps": 0.0, "requests": 0, "non2xx": 0, "socket_errors": 0, "p50_us": 0,
               "p99_us": 0, "failed": str(e)}
    if a.upstream_opened is not None:
        row.update({"upstream_opened": a.upstream_opened, "upstream_open": a.upstream_open})
    if a.syscalls is not None:
        row["syscalls_per_req"] = a.syscalls / row["requests"] if row["requests"] else None
    tick_us = 1e6 / a.clk_tck
    row.update({
        "threads": a.threads, "round": a.round, "scenario": a.scenario, "target": a.target,
        "cpu_ticks": a.cpu_ticks, "backend_ticks": a.backend_ticks, "wall_s": a.wall_s,
        "cpu_us_per_req": a.cpu_ticks * tick_us / row["requests"] if row["requests"] else None,
        "backend_cpu_pct": 100.0 * a.backend_ticks / a.clk_tck / a.wall_s if a.wall_s else None,
    })
    with open(a.out, "a") as f:
        f.write(json.dumps(row) + "\n")
    print(f"  {a.target:<10} {a.scenario:<12} {row['rps']:>9.0f} req/s  "
          f"p50 {fmt_ms(row['p50_us'])}  p99 {fmt_ms(row['p99_us'])}  "
          f"errors {row['non2xx'] + row['socket_errors']}  "
          f"cpu {fmt_num(row['cpu_us_per_req'])} µs/req"
          + "".join(f"  {c[1]} {c[2](row[c[0]])}" for c in OPTIONAL_COLUMNS if c[0] in row))


def fmt_ms(us):
    if us is None:
        return "—"
    ms = us / 1000.0
    return f"{ms:.3f} ms" if ms < 1 else f"{ms:.2f} ms" if ms < 100 else f"{ms:.0f} ms"


def fmt_num(v, digits=1):
    return "—" if v is None else f"{v:.{digits}f}"


def fmt_ratio(v):
    return "—" if v is None else f"{v:.2f}×"


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def cmd_table(a):
    rows = [json.loads(line) for line in open(a.results) if line.strip()]
    if not rows:
        print("no results", file=sys.stderr)
        return 1
    scenarios = list(dict.fromkeys(r["scenario"] for r in rows))
    targets = list(dict.fromkeys(r["target"] for r in rows))
    if a.reference in targets:  # the reference first, the rest in the order they ran
        targets.remove(a.reference)
        targets.insert(0, a.reference)
    optional = [c for c in OPTIONAL_COLUMNS if any(c[0] in r for r in rows)]
    by_key = defaultdict(list)
    for r in rows:
        by_key[(r["threads"], r["scenario"], r["target"])].append(r)

    out = []
    for threads in sorted({r["threads"] for r in rows}):
        out.append(f"#### {threads} thread{'s' if threads != 1 else ''} per proxy\n")
        out.append("| scenario | target | req/s | p50 | p99 | errors | CPU µs/req | "
                   f"req/s ÷ {a.reference} | CPU/req ÷ {a.reference} | p99 ÷ {a.reference} | "
                   "backend CPU | " + "".join(f"{c[1]} | " for c in optional) + "rounds |")
        out.append("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|" + "--:|" * len(optional)
                   + "--:|")
        for scenario in scenarios:
            ref_by_round = {r["round"]: r for r in by_key[(threads, scenario, a.reference)]}
            for target in targets:
                runs = by_key.get((threads, scenario, target))
                if not runs:
                    continue
                ratios = defaultdict(list)
                for r in runs:
                    ref = ref_by_round.get(r["round"])
                    if not ref or "failed" in r or "failed" in ref:
                        continue
                    if ref["rps"]:
                        ratios["rps"].append(r["rps"] / ref["rps"])
                    if ref["cpu_us_per_req"] and r["cpu_us_per_req"] is not None:
                        ratios["cpu"].append(r["cpu_us_per_req"] / ref["cpu_us_per_req"])
                    if ref["p99_us"]:
                        ratios["p99"].append(r["p99_us"] / ref["p99_us"])
                ok = [r for r in runs if "failed" not in r]
                errors = sum(r["non2xx"] + r["socket_errors"] for r in runs)
                failed = len(runs) - len(ok)
                backend = median(r["backend_cpu_pct"] for r in ok)
                out.append(
                    f"| {scenario} | {target} | {fmt_num(median(r['rps'] for r in ok), 0)} | "
                    f"{fmt_ms(median(r['p50_us'] for r in ok))} | "
                    f"{fmt_ms(median(r['p99_us'] for r in ok))} | "
                    f"{errors}{f' ({failed} runs failed)' if failed else ''} | "
                    f"{fmt_num(median(r['cpu_us_per_req'] for r in ok))} | "
                    f"{fmt_ratio(median(ratios['rps']))} | {fmt_ratio(median(ratios['cpu']))} | "
                    f"{fmt_ratio(median(ratios['p99']))} | "
                    f"{'—' if backend is None else f'{backend:.0f}%'} | "
                    + "".join(f"{c[2](median(r.get(c[0]) for r in ok))} | " for c in optional)
                    + f"{len(runs)} |")
        out.append("")
    out.append("req/s, p50, p99, CPU µs/req: medians over rounds. errors: non-2xx answers plus "
               "socket errors, summed over all rounds. Ratios: per round against "
               f"{a.reference} in the same round and scenario, then the median. CPU µs/req: the "
               "proxy's utime+stime (all its processes and threads, /proc/PID/stat) over the "
               "run ÷ requests completed. backend CPU: the nginx backend's share of one core "
               "during the run (100% would make it the bottleneck).")
    print("\n".join(out))
    return 0


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("record")
    r.add_argument("--out", required=True)
    r.add_argument("--tool", choices=sorted(PARSERS), required=True)
    r.add_argument("--stdout", required=True)
    r.add_argument("--log")
    r.add_argument("--upstream-opened", type=int, help="connections the proxy opened upstream")
    r.add_argument("--upstream-open", type=int, help="upstream connections open at the end")
    r.add_argument("--syscalls", type=int, help="system calls the proxy made (strace -c)")
    r.add_argument("--threads", type=int, required=True)
    r.add_argument("--round", type=int, required=True)
    r.add_argument("--scenario", required=True)
    r.add_argument("--target", required=True)
    r.add_argument("--cpu-ticks", type=int, required=True)
    r.add_argument("--backend-ticks", type=int, required=True)
    r.add_argument("--wall-s", type=float, required=True)
    r.add_argument("--clk-tck", type=int, default=100)
    t = sub.add_parser("table")
    t.add_argument("results")
    t.add_argument("--reference", default="haproxy")
    a = p.parse_args()
    return cmd_record(a) if a.cmd == "record" else cmd_table(a)


if __name__ == "__main__":
    sys.exit(main() or 0)
