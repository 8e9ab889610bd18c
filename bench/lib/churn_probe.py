#!/usr/bin/python3
"""Reads a proxy's admin page for the churn benchmark and prints one figure.

    churn_probe.py switchyard-alive ADMIN_URL    routable instances of the first cluster
    churn_probe.py switchyard-retries ADMIN_URL  its retries counter
    churn_probe.py haproxy-up STATS_URL          servers UP in backend "web"
    churn_probe.py haproxy-retries STATS_URL     backend "web": wretr + wredis

ADMIN_URL is Switchyard's admin base (http://127.0.0.1:PORT); STATS_URL is HAProxy's stats page
(http://127.0.0.1:PORT/stats). Prints nothing and exits 1 when the page cannot be read.
Standard library only.
"""

import csv
import io
import json
import sys
import urllib.request


def fetch(url):
    with urllib.request.urlopen(url, timeout=2) as r:
        return r.read().decode()


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    what, url = sys.argv[1], sys.argv[2]
    try:
        if what.startswith("switchyard-"):
            cluster = json.loads(fetch(url + "/clusters"))["clusters"][0]
            if what == "switchyard-alive":
                print(sum(1 for i in cluster["instances"] if i["status"] == "alive"))
            else:
                print(cluster["retries"])
        else:
            rows = list(csv.DictReader(io.StringIO(fetch(url + ";csv").lstrip("# "))))
            web = [r for r in rows if r["pxname"] == "web"]
            if what == "haproxy-up":
                print(sum(1 for r in web
                          if r["svname"] not in ("BACKEND", "FRONTEND")
                          and r["status"].startswith("UP")))
            else:
                backend = next(r for r in web if r["svname"] == "BACKEND")
                print(int(backend["wretr"] or 0) + int(backend["wredis"] or 0))
    except (OSError, ValueError, KeyError, IndexError, StopIteration):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
