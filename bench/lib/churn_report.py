#!/usr/bin/python3
"""Figures of the deploy churn benchmark: one JSON line per run, then the markdown table.

    churn_report.py record --out FILE.jsonl --stdout H2LOAD_OUT --log H2LOAD_LOG
                           --events EVENTS --target T --round R [--retries N]
    churn_report.py table FILE.jsonl

EVENTS holds "NAME EPOCH_US" lines written by the scheduler (churn_bench.sh): steady_start,
deploy_start, kill, churn_end. h2load's --log-file has one line per request: start time (µs
since the epoch), status (-1 for a failed stream), µs until the end of the response. Requests
are put in a window by their start time (h2load logs no line for a request that failed on a socket
error: those are counted in the run's total only, from its summary): steady [steady_start, deploy_start), deploy
[deploy_start, kill), kill [kill, churn_end); churn is deploy + kill. Standard library only.
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


def read_events(path):
    events = {}
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 2:
                events[parts[0]] = int(parts[1])
    for name in ("steady_start", "deploy_start", "kill", "churn_end"):
        if name not in events:
            raise ValueError(f"event {name} missing from {path}")
    return events


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


def window_figures(rows):
    latencies = sorted(lat for _, status, lat in rows if 200 <= status < 300)
    return {
        "requests": len(rows),
        "failed": sum(1 for _, status, _ in rows if not 200 <= status < 300),
        "p50_us": percentile(latencies, 50),
        "p99_us": percentile(latencies, 99),
        "max_us": latencies[-1] if latencies else 0,
    }


def cmd_record(a):
    events = read_events(a.events)
    with open(a.stdout) as f:
        totals = summary(f.read())
    windows = defaultdict(list)
    statuses = defaultdict(int)
    with open(a.log) as f:
        for line in f:
            cols = line.rstrip("\n").split("\t")
            if len(cols) < 3:
                continue
            start, status, latency = int(cols[0]), int(cols[1]), int(cols[2])
            if status < 200 or status >= 300:
                statuses[str(status)] += 1
            if events["steady_start"] <= start < events["deploy_start"]:
                windows["steady"].append((start, status, latency))
            elif events["deploy_start"] <= start < events["kill"]:
                windows["deploy"].append((start, status, latency))
            elif events["kill"] <= start < events["churn_end"]:
                windows["kill"].append((start, status, latency))
            else:
                windows["outside"].append((start, status, latency))
    windows["churn"] = windows["deploy"] + windows["kill"]
    row = {
        "target": a.target,
        "round": a.round,
        "requests": totals["done"],
        "failed": totals["non2xx"] + totals["socket_errors"],
        "non2xx": totals["non2xx"],
        "socket_errors": totals["socket_errors"],
        "failed_statuses": dict(statuses),
        "retries": a.retries,
        "deploy_s": (events["kill"] - events["deploy_start"]) / 1e6,
        "kill_watch_s": (events["churn_end"] - events["kill"]) / 1e6,
    }
    for name in ("steady", "deploy", "kill", "churn", "outside"):
        row[name] = window_figures(windows[name])
    with open(a.out, "a") as f:
        f.write(json.dumps(row) + "\n")


def ms(us):
    return f"{us / 1000:.2f}"


def ratio(num, den):
    return f"{num / den:.2f}" if den else "-"


def cmd_table(a):
    rows = []
    with open(a.jsonl) as f:
        for line in f:
            if line.strip():
                rows.append(json.loads(line))
    out = []
    out.append("| round | target | requests | failed (all) | of which socket errors "
               "| non-2xx in deploy | non-2xx after kill | p50 steady ms | p99 steady ms | p50 churn ms | p99 churn ms | p99 churn / steady "
               "| max churn ms | retries |")
    out.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        s, c = r["steady"], r["churn"]
        retries = "-" if r["retries"] is None else str(r["retries"])
        out.append(f"| {r['round']} | {r['target']} | {r['requests']} | {r['failed']} "
                   f"| {r['socket_errors']} | {r['deploy']['failed']} | {r['kill']['failed']} "
                   f"| {ms(s['p50_us'])} | {ms(s['p99_us'])} | {ms(c['p50_us'])} "
                   f"| {ms(c['p99_us'])} | {ratio(c['p99_us'], s['p99_us'])} "
                   f"| {ms(c['max_us'])} | {retries} |")
    out.append("")
    out.append("Over all rounds (failures summed, latencies and ratios the median of the rounds):")
    out.append("")
    out.append("| target | rounds | requests | failed (all) | non-2xx in deploy | non-2xx after kill "
               "| p99 steady ms | p99 deploy ms | p99 after kill ms | p99 churn ms "
               "| p99 churn / steady |")
    out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    by_target = defaultdict(list)
    for r in rows:
        by_target[r["target"]].append(r)
    for target, runs in by_target.items():
        med = lambda f: statistics.median(f(r) for r in runs)
        out.append(
            f"| {target} | {len(runs)} | {sum(r['requests'] for r in runs)} "
            f"| {sum(r['failed'] for r in runs)} | {sum(r['deploy']['failed'] for r in runs)} "
            f"| {sum(r['kill']['failed'] for r in runs)} "
            f"| {ms(med(lambda r: r['steady']['p99_us']))} "
            f"| {ms(med(lambda r: r['deploy']['p99_us']))} "
            f"| {ms(med(lambda r: r['kill']['p99_us']))} "
            f"| {ms(med(lambda r: r['churn']['p99_us']))} "
            f"| {med(lambda r: r['churn']['p99_us'] / max(r['steady']['p99_us'], 1)):.2f} |")
    print("\n".join(out))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    rec = sub.add_parser("record")
    rec.add_argument("--out", required=True)
    rec.add_argument("--stdout", required=True)
    rec.add_argument("--log", required=True)
    rec.add_argument("--events", required=True)
    rec.add_argument("--target", required=True)
    rec.add_argument("--round", type=int, required=True)
    rec.add_argument("--retries", type=int, default=None)
    tab = sub.add_parser("table")
    tab.add_argument("jsonl")
    a = p.parse_args()
    try:
        cmd_record(a) if a.cmd == "record" else cmd_table(a)
    except (OSError, ValueError) as e:
        print(f"churn_report: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
