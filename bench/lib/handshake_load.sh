#!/usr/bin/env bash
# handshake_load.sh MODE CLIENTS SECONDS HOST:PORT: a load that opens a new TLS connection for
# every request, for about SECONDS (bench/tls_handshake_bench.sh). Prints the tools' output, then
#   HANDSHAKE_JSON {"connections": N, "resumed": R or null, "non2xx": X, "errors": E, "seconds": S}
# where connections counts those that completed their request, errors the failed ones (and each
# client that stopped on an error), seconds the wall time of the whole load.
# MODE:
#   h2load       rounds of `h2load --h1 -c CLIENTS -n CLIENTS` (one request per connection, the
#                CLIENTS connections at once) until SECONDS have passed; h2load keeps no TLS
#                session, so every handshake is a full one
#   stime-new    CLIENTS `openssl s_time -new -www /` side by side, each opening one connection
#                after another (full handshakes, TLS 1.3)
#   stime-reuse  the same with -reuse: each resumes its first connection's session (TLS 1.3
#                session tickets); `resumed` counts the handshakes the server did resume
#   wrk          `wrk -t1 -cCLIENTS` with `Connection: close`: wrk keeps the session and resumes
# Bounded: every tool runs under `timeout`, and the h2load rounds stop at SECONDS.
set -euo pipefail

mode=$1 clients=$2 seconds=$3 addr=$4
lib=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=$(mktemp -d /tmp/switchyard-handshake-load.XXXXXX)
trap 'rm -rf "$out"' EXIT
t0=$(date +%s.%N)
connections=0 resumed=null non2xx=0 errors=0

case "$mode" in
  h2load)
    end=$((SECONDS + seconds))
    for ((i = 0; i < 100000 && SECONDS < end; i++)); do
      timeout -k 2 10 h2load --h1 -c "$clients" -n "$clients" -t 1 "https://$addr/" \
        >"$out/h2load" 2>&1 || true
      if ((i == 0)); then grep -E '^(TLS Protocol|Cipher|Server Temp Key):' "$out/h2load" || true; fi
      # "requests: T total, S started, D done, OK succeeded, F failed, E errored, TO timeout"
      # and "status codes: A 2xx, B 3xx, C 4xx, D 5xx".
      read -r ok bad failed <<<"$(awk '/^requests:/ { f = $12 + $14 }
        /^status codes:/ { ok = $3; bad = $5 + $7 + $9 } END { if (ok != "") print ok, bad, f }' \
        "$out/h2load")"
      [[ -n ${ok:-} ]] || { cat "$out/h2load"; errors=$((errors + clients)); continue; }
      connections=$((connections + ok))
      non2xx=$((non2xx + bad))
      errors=$((errors + failed))
    done
    echo "h2load rounds: $i"
    ;;
  stime-new | stime-reuse)
    pids=()
    for ((i = 0; i < clients; i++)); do
      timeout -k 2 $((seconds + 10)) openssl s_time -connect "$addr" -www / -tls1_3 \
        "-${mode#stime-}" -time "$seconds" >"$out/stime.$i" 2>&1 &
      pids+=($!)
    done
    resumed=0
    for ((i = 0; i < clients; i++)); do
      wait "${pids[$i]}" || errors=$((errors + 1))
      n=$(sed -nE 's/^([0-9]+) connections in [0-9.]+s;.*/\1/p' "$out/stime.$i")
      [[ -n $n ]] || { tail -n 3 "$out/stime.$i"; errors=$((errors + 1)); continue; }
      connections=$((connections + n))
      # One character per connection: r when the server resumed the session.
      resumed=$((resumed + $(grep -E '^[rt3*]+$' "$out/stime.$i" | tr -cd r | wc -c)))
    done
    tail -n 2 "$out/stime.0"
    ;;
  wrk)
    timeout -k 2 $((seconds + 10)) wrk -t1 -c"$clients" -d"${seconds}s" -H 'Connection: close' \
      -s "$lib/wrk_report.lua" "https://$addr/" >"$out/wrk" 2>&1 || true
    cat "$out/wrk"
    json=$(sed -n 's/^WRK_JSON //p' "$out/wrk")
    [[ -n $json ]] || exit 1
    read -r connections non2xx errors <<<"$(/usr/bin/python3 -c \
      'import json, sys; d = json.loads(sys.argv[1]); print(d["requests"] - d["non2xx"], d["non2xx"], d["socket_errors"])' \
      "$json")"
    ;;
  *) echo "handshake_load: unknown mode '$mode'" >&2; exit 2 ;;
esac

printf 'HANDSHAKE_JSON {"connections": %d, "resumed": %s, "non2xx": %d, "errors": %d, "seconds": %s}\n' \
  "$connections" "$resumed" "$non2xx" "$errors" "$(awk "BEGIN { print $(date +%s.%N) - $t0 }")"
