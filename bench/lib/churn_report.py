#!/usr/bin/python3
"""Figures of the deploy churn benchmark: one JSON line per run, then the markdown tables.

    churn_report.py record --out FILE.jsonl --stdout H2LOAD_OUT --log H2LOAD_LOG
                           --events EVENTS --scenario S --rate R --target T --round N
                           [--retries N] [--new NAME=ACCESS_LOG ...]
    churn_report.py table FILE.jsonl

EVENTS holds "NAME EPOCH_US" lines written by the scheduler (churn_bench.sh): steady_start,
churn_start, churn_end; for a deploy also listen_NAME (the new instance NAME's port first
accepted a connection) and deploy_done (the last step's end). h2load's --log-file has one line
per completed request: start time (µs since the epoch), status (-1 for a failed stream), µs
until the end of the response. Requests go in a window by start time: steady [steady_start,
churn_start), churn [churn_start, churn_end). ACCESS_LOG is a new backend's nginx log of the
requests to "/", "$msec $status" a line.

Figures per run: requests (done), failed (h2load: non-2xx answers + errored + timed out), over
1 s (completed requests slower than 1 s), p99 of the steady and churn windows (successful
requests), and for a deploy, per new instance, the seconds from its port listening to the first
request it served ("never" when it served none; the listen_ event is taken a few ms after the
port listens, so a small negative delay is a request served at once and shows as 0.00 in the
table), its share of the requests served after the deploy (deploy_done to the end).
Standard library only.
"""

import argparse
import json
import re
import sys
from collections import defaultdict

SLOW_US = 1_000_000


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
    for name in ("steady_start", "churn_start", "churn_end"):
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
        "started": int(req.group(2)),
        "done": int(req.group(3)),
        "non2xx": int(codes.group(2)) + int(codes.group(3)) + int(codes.group(4)),
        "socket_errors": int(req.group(6)) + int(req.group(7)),
    }


def window_figures(rows):
    latencies = sorted(lat for _, status, lat in rows if 200 <= status < 300)
    return {
        "requests": len(rows),
        "failed": sum(1 for _, status, _ in rows if not 200 <= status < 300),
        "over_1s": sum(1 for _, _, lat in rows if lat > SLOW_US),
        "p50_us": percentile(latencies, 50),
        "p99_us": percentile(latencies, 99),
        "max_us": latencies[-1] if latencies else 0,
    }


def new_instances(specs, events, rows):
    """Per new instance: seconds from listening to its first served request, its share after."""
    out = {}
    done = events.get("deploy_done")
    after_total = 0
    if done is not None:
        after_total = sum(1 for start, status, _ in rows
                          if done <= start < events["churn_end"] and 200 <= status < 300)
    for spec in specs:
        name, _, path = spec.partition("=")
        listen = events.get(f"listen_{name}")
        if listen is None:
            raise ValueError(f"event listen_{name} missing")
        served = []
        try:
            with open(path) as f:
                for line in f:
                    parts = line.split()
                    if len(parts) == 2 and parts[1] == "200":
                        served.append(float(parts[0]))
        except FileNotFoundError:
            pass
        first = min(served) if served else None
        after = 0
        if done is not None:
            after = sum(1 for t in served if done / 1e6 <= t < events["churn_end"] / 1e6)
        out[name] = {
            "served": len(served),
            "first_after_listen_s": None if first is None else round(first - listen / 1e6, 3),
            "share_after_deploy": round(after / after_total, 3) if after_total else None,
        }
    return out


def cmd_record(a):
    events = read_events(a.events)
    with open(a.stdout) as f:
        totals = summary(f.read())
    windows = defaultdict(list)
    rows = []
    statuses = defaultdict(int)
    with open(a.log) as f:
        for line in f:
            cols = line.rstrip("\n").split("\t")
            if len(cols) < 3:
                continue
            row = (int(cols[0]), int(cols[1]), int(cols[2]))
            rows.append(row)
            if not 200 <= row[1] < 300:
                statuses[str(row[1])] += 1
            if events["steady_start"] <= row[0] < events["churn_start"]:
                windows["steady"].append(row)
            elif events["churn_start"] <= row[0] < events["churn_end"]:
                windows["churn"].append(row)
    result = {
        "scenario": a.scenario,
        "rate": a.rate,
        "target": a.target,
        "round": a.round,
        "requests": totals["done"],
        "failed": totals["non2xx"] + totals["socket_errors"],
        "non2xx": totals["non2xx"],
        "socket_errors": totals["socket_errors"],
        "over_1s": sum(1 for _, _, lat in rows if lat > SLOW_US),
        "failed_statuses": dict(statuses),
        "retries": a.retries,
        "churn_s": (events["churn_end"] - events["churn_start"]) / 1e6,
        "steady": window_figures(windows["steady"]),
        "churn": window_figures(windows["churn"]),
    }
    if a.new:
        result["new_instances"] = new_instances(a.new, events, rows)
    with open(a.out, "a") as f:
        f.write(json.dumps(result) + "\n")


def ms(us):
    return f"{us / 1000:.2f}"


def rotation(r):
    """'max s to first request' and 'never served' of a deploy run, '-' for the others."""
    inst = r.get("new_instances")
    if not inst:
        return "-", "-", "-"
    delays = [v["first_after_listen_s"] for v in inst.values()
              if v["first_after_listen_s"] is not None]
    never = sum(1 for v in inst.values() if v["first_after_listen_s"] is None)
    shares = [v["share_after_deploy"] for v in inst.values() if v["share_after_deploy"] is not None]
    return (f"{max(0.0, max(delays)):.2f}" if delays else "-", str(never),
            f"{100 * min(shares):.0f} %" if shares else "-")


def cmd_table(a):
    rows = []
    with open(a.jsonl) as f:
        for line in f:
            if line.strip():
                rows.append(json.loads(line))
    out = []
    out.append("| rate | scenario | round | target | requests | failed | over 1 s | p99 steady ms | p99 churn ms | max churn ms "
               "| new instance: max s listen → first request | new instances never served "
               "| smallest new share after deploy | retries |")
    out.append("|---:|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        s, c = r["steady"], r["churn"]
        retries = "-" if r["retries"] is None else str(r["retries"])
        delay, never, share = rotation(r)
        out.append(f"| {r['rate']} | {r['scenario']} | {r['round']} | {r['target']} "
                   f"| {r['requests']} | {r['failed']} | {r['over_1s']} "
                   f"| {ms(s['p99_us'])} | {ms(c['p99_us'])} | {ms(c['max_us'])} "
                   f"| {delay} | {never} | {share} | {retries} |")
    out.append("")
    out.append("Per new instance of each deploy (seconds from its port listening to its first "
               "served request; requests served; share of the requests after the deploy):")
    out.append("")
    for r in rows:
        inst = r.get("new_instances")
        if not inst:
            continue
        parts = []
        for name, v in inst.items():
            first = v["first_after_listen_s"]
            share = v["share_after_deploy"]
            parts.append(f"{name} {'never' if first is None else f'{max(0.0, first):.2f} s'}, "
                         f"{v['served']} req, "
                         f"{'-' if share is None else f'{100 * share:.0f} %'}")
        out.append(f"- {r['rate']} req/s round {r['round']} {r['target']}: " + "; ".join(parts))
    print("\n".join(out))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    rec = sub.add_parser("record")
    rec.add_argument("--out", required=True)
    rec.add_argument("--stdout", required=True)
    rec.add_argument("--log", required=True)
    rec.add_argument("--events", required=True)
    rec.add_argument("--scenario", required=True)
    rec.add_argument("--rate", type=int, required=True)
    rec.add_argument("--target", required=True)
    rec.add_argument("--round", type=int, required=True)
    rec.add_argument("--retries", type=int, default=None)
    rec.add_argument("--new", action="append", default=[], metavar="NAME=ACCESS_LOG")
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
