#!/usr/bin/python3
"""Figures of the binary upgrade benchmark: one JSON line per target, then markdown tables.

    upgrade_report.py record --out FILE.jsonl --dir RUN_DIR --events EVENTS --target T
    upgrade_report.py table FILE.jsonl

RUN_DIR holds, per client kind (new, keepalive, h2c), KIND.tsv (upgrade_load.py's log: start
µs, µs to the end, outcome, connection) and KIND.json (its summary); a kind without files was
not run for this target. EVENTS holds "NAME EPOCH_US" lines from upgrade_bench.sh:
steady_start, upgrade_I_start and upgrade_I_end (I = 1..UPGRADES; the end is the old process's
exit), and upgrade_I_failed when an old process did not exit in time. Windows by a request's
start: before = [steady_start, upgrade_1_start), during = [upgrade_1_start, last end].
Failures are counted over the whole run (every request sent); latencies are those of the
successful requests. Standard library only.
"""

import argparse
import json
import os
import statistics
import sys
from collections import Counter

KINDS = ("new", "keepalive", "h2c")


def percentile(sorted_values, pct):
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return None
    rank = max(1, int(round(pct / 100.0 * len(sorted_values) + 0.5)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def read_events(path):
    events = {}
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 2:
                events[parts[0]] = int(parts[1])
    if "steady_start" not in events or "upgrade_1_start" not in events:
        raise ValueError(f"{path}: no steady_start or upgrade_1_start")
    return events


def record(args):
    ev = read_events(args.events)
    starts = sorted((int(k.split("_")[1]), v) for k, v in ev.items()
                    if k.startswith("upgrade_") and k.endswith("_start"))
    ends = {int(k.split("_")[1]): v for k, v in ev.items()
            if k.startswith("upgrade_") and k.endswith("_end")}
    failed_upgrades = sorted(int(k.split("_")[1]) for k in ev
                             if k.startswith("upgrade_") and k.endswith("_failed"))
    seq_start = starts[0][1]
    seq_end = max(ends.values()) if ends else ev.get("seq_end", seq_start)
    durations = [(ends[i] - s) / 1e6 for i, s in starts if i in ends]
    out = {"target": args.target, "upgrades_tried": len(starts),
           "upgrades_done": len([i for i, _ in starts if i in ends]) - len(failed_upgrades),
           "failed_upgrades": failed_upgrades,
           "sequence_s": (seq_end - seq_start) / 1e6,
           "upgrade_median_s": statistics.median(durations) if durations else None,
           "upgrade_max_s": max(durations) if durations else None, "kinds": {}}
    for kind in KINDS:
        log = os.path.join(args.dir, kind + ".tsv")
        summary_path = os.path.join(args.dir, kind + ".json")
        if not os.path.exists(log):
            continue
        if not os.path.exists(summary_path):
            raise ValueError(f"{summary_path} missing: the {kind} client did not finish")
        with open(summary_path) as f:
            summary = json.load(f)
        outcomes = Counter()
        failed_during = 0
        before, during = [], []
        with open(log) as f:
            for line in f:
                parts = line.rstrip("\n").split("\t")
                if len(parts) < 3:
                    continue
                start, lat, outcome = int(parts[0]), int(parts[1]), parts[2]
                outcomes[outcome] += 1
                in_seq = seq_start <= start <= seq_end
                if outcome != "ok":
                    failed_during += in_seq
                    continue
                if ev["steady_start"] <= start < seq_start:
                    before.append(lat)
                elif in_seq:
                    during.append(lat)
        before.sort()
        during.sort()
        out["kinds"][kind] = {
            "requests": sum(outcomes.values()),
            "failed": sum(n for o, n in outcomes.items() if o != "ok"),
            "failed_during": failed_during,
            "outcomes": dict(outcomes),
            "p50_before_us": percentile(before, 50), "p99_before_us": percentile(before, 99),
            "p50_during_us": percentile(during, 50), "p99_during_us": percentile(during, 99),
            "max_during_us": during[-1] if during else None,
            "summary": summary,
            "_before": before, "_during": during,
        }
    # Over every kind: the latencies merged.
    before = sorted(x for k in out["kinds"].values() for x in k.pop("_before"))
    during = sorted(x for k in out["kinds"].values() for x in k.pop("_during"))
    out["p99_before_us"] = percentile(before, 99)
    out["p99_during_us"] = percentile(during, 99)
    out["max_during_us"] = during[-1] if during else None
    with open(args.out, "a") as f:
        f.write(json.dumps(out) + "\n")


def ms(us):
    return "–" if us is None else (f"{us / 1000:.2f} ms" if us < 100000 else f"{us / 1000:.0f} ms")


def secs(s):
    return "–" if s is None else f"{s:.2f} s"


def table(args):
    runs = [json.loads(line) for line in open(args.jsonl) if line.strip()]
    print("| target | upgrades done | whole sequence | one upgrade (median / max) | requests "
          "| failed | failures | conns refused | conns reset | p99 before | p99 during "
          "| max during |")
    print("|---|--:|--:|--:|--:|--:|---|--:|--:|--:|--:|--:|")
    for r in runs:
        kinds = r["kinds"].values()
        outcomes = Counter()
        for k in kinds:
            outcomes.update({o: n for o, n in k["outcomes"].items() if o != "ok"})
        failures = ", ".join(f"{o} {n}" for o, n in outcomes.most_common()) or "–"
        print(f"| {r['target']} | {r['upgrades_done']}/{r['upgrades_tried']} "
              f"| {secs(r['sequence_s'])} "
              f"| {secs(r['upgrade_median_s'])} / {secs(r['upgrade_max_s'])} "
              f"| {sum(k['requests'] for k in kinds)} | {sum(k['failed'] for k in kinds)} "
              f"| {failures} | {sum(k['summary']['conn_refused'] for k in kinds)} "
              f"| {sum(k['summary']['conn_reset'] for k in kinds)} "
              f"| {ms(r['p99_before_us'])} | {ms(r['p99_during_us'])} "
              f"| {ms(r['max_during_us'])} |")
    print()
    print("| target | client | requests | failed | of which during the upgrades | p50 before "
          "| p99 before | p50 during | p99 during | connections opened "
          "| `Connection: close` / GOAWAY received | closed idle by the server |")
    print("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    for r in runs:
        for kind in KINDS:
            k = r["kinds"].get(kind)
            if k is None:
                print(f"| {r['target']} | {kind} | not run | | | | | | | | | |")
                continue
            s = k["summary"]
            told = s["goaways"] if kind == "h2c" else s["close_announced"]
            print(f"| {r['target']} | {kind} | {k['requests']} | {k['failed']} "
                  f"| {k['failed_during']} | {ms(k['p50_before_us'])} | {ms(k['p99_before_us'])} "
                  f"| {ms(k['p50_during_us'])} | {ms(k['p99_during_us'])} "
                  f"| {s['conns_opened']} | {told} | {s['idle_closed']} |")


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("record")
    r.add_argument("--out", required=True)
    r.add_argument("--dir", required=True)
    r.add_argument("--events", required=True)
    r.add_argument("--target", required=True)
    t = sub.add_parser("table")
    t.add_argument("jsonl")
    args = p.parse_args()
    try:
        record(args) if args.cmd == "record" else table(args)
    except (OSError, ValueError) as e:
        print(f"upgrade_report: {e}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
