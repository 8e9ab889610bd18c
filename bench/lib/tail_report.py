#!/usr/bin/python3
"""Figures of the tail-latency benchmark: one JSON line per run, then the markdown table.

    tail_report.py record --out FILE.jsonl --stdout H2LOAD_OUT --log H2LOAD_LOG --warm-s S
                          --target T --round R --slow-log ACCESS_LOG --fast-logs LOG...
                          --cpu-ticks N --ticks-per-s HZ
    tail_report.py table FILE.jsonl

h2load's --log-file has one line per request: start time (µs since the epoch), status (-1 for a
failed stream), µs until the end of the response. Requests started in the first S seconds of
the run (connections opening, first samples) are left out of the percentiles, not of the
failures. The slow instance's share is counted at the backends (one access-log line per request
each), the same way for every proxy. Standard library only.
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


def summary(stdout_text):
    req = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, "
                    r"(\d+) failed, (\d+) errored, (\d+) timeout", stdout_text)
    codes = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", stdout_text)
    if not (req and codes):
        raise ValueError("h2load output has no summary (did it run?)")
    return {
        "done": int(req.group(3)),
        "non2xx": int(codes.group(2)) + int(codes.group(3)) + int(codes.group(4)),
        "socket_errors": int(req.group(6)) + int(req.group(7)),
    }


def count_lines(path):
    with open(path) as f:
        return sum(1 for _ in f)


def cmd_record(a):
    with open(a.stdout) as f:
        totals = summary(f.read())
    rows = []
    with open(a.log) as f:
        for line in f:
            cols = line.rstrip("\n").split("\t")
            if len(cols) >= 3:
                rows.append((int(cols[0]), int(cols[1]), int(cols[2])))
    if not rows:
        raise ValueError(f"{a.log} has no request")
    first = min(start for start, _, _ in rows)
    measured = [r for r in rows if r[0] >= first + a.warm_s * 1_000_000]
    latencies = sorted(lat for _, status, lat in measured if 200 <= status < 300)
    slow = count_lines(a.slow_log)
    fast = sum(count_lines(p) for p in a.fast_logs)
    done = totals["done"]
    record = {
        "target": a.target,
        "round": a.round,
        "requests": done,
        "measured": len(latencies),
        "failed": totals["non2xx"] + totals["socket_errors"],
        "p50_us": percentile(latencies, 50),
        "p90_us": percentile(latencies, 90),
        "p99_us": percentile(latencies, 99),
        "p999_us": percentile(latencies, 99.9),
        "slow_share": slow / (slow + fast) if slow + fast else 0.0,
        "cpu_us_per_req": a.cpu_ticks * 1e6 / a.ticks_per_s / done if done else 0.0,
    }
    with open(a.out, "a") as f:
        f.write(json.dumps(record) + "\n")


def ms(us):
    return f"{us / 1000:.2f}"


def cmd_table(a):
    runs = defaultdict(list)
    order = []
    with open(a.jsonl) as f:
        for line in f:
            r = json.loads(line)
            if r["target"] not in runs:
                order.append(r["target"])
            runs[r["target"]].append(r)
    print("| target | rounds | p50 ms | p90 ms | p99 ms | p99.9 ms | p99 per round ms "
          "| slow instance's share | failed | proxy CPU µs/req |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for t in order:
        rs = sorted(runs[t], key=lambda r: r["round"])

        def med(key):
            return statistics.median(r[key] for r in rs)

        print(f"| {t} | {len(rs)} | {ms(med('p50_us'))} | {ms(med('p90_us'))} "
              f"| {ms(med('p99_us'))} | {ms(med('p999_us'))} "
              f"| {' / '.join(ms(r['p99_us']) for r in rs)} "
              f"| {100 * med('slow_share'):.1f}% | {sum(r['failed'] for r in rs)} of "
              f"{sum(r['requests'] for r in rs)} | {med('cpu_us_per_req'):.1f} |")


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("record")
    r.add_argument("--out", required=True)
    r.add_argument("--stdout", required=True)
    r.add_argument("--log", required=True)
    r.add_argument("--warm-s", type=float, required=True)
    r.add_argument("--target", required=True)
    r.add_argument("--round", type=int, required=True)
    r.add_argument("--slow-log", required=True)
    r.add_argument("--fast-logs", nargs="+", required=True)
    r.add_argument("--cpu-ticks", type=int, required=True)
    r.add_argument("--ticks-per-s", type=int, required=True)
    t = sub.add_parser("table")
    t.add_argument("jsonl")
    a = p.parse_args()
    try:
        cmd_record(a) if a.cmd == "record" else cmd_table(a)
    except (OSError, ValueError) as e:
        print(f"tail_report: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
