#!/usr/bin/env bash
# Runs the gateway on examples/switchyard.yaml in front of four demo backends, as root:
#   scripts/demo.sh
# Installs what is missing, builds Release, starts the backends (web-1..3 on 127.0.0.1:9101-9103,
# api-1 on 9104), then switchyard in the foreground. Ctrl-C stops everything it started.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
config=$root/examples/switchyard.yaml
python=/usr/bin/python3  # Debian's, not whatever python3 is first on PATH
listen_port=8080
admin_port=9901
backends=("web-1 9101" "web-2 9102" "web-3 9103" "api-1 9104")

"$root/scripts/install-deps.sh"
"$root/scripts/build.sh" Release
binary=${SWITCHYARD_BIN:-$root/build/switchyard}

# A port is busy when binding 127.0.0.1 to it fails (a listener on 0.0.0.0 counts too).
busy=$("$python" - $listen_port $admin_port 9101 9102 9103 9104 <<'PY'
import socket, sys
for port in sys.argv[1:]:
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", int(port)))
    except OSError:
        print(port, end=" ")
    finally:
        s.close()
PY
)
if [[ -n "$busy" ]]; then
  echo "demo.sh: port(s) ${busy% } already in use on this machine (by another program, or an" >&2
  echo "demo.sh: earlier demo still running); stop it, or edit examples/switchyard.yaml." >&2
  exit 1
fi

pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

for backend in "${backends[@]}"; do
  read -r name port <<<"$backend"
  "$python" "$root/examples/demo_backend.py" --name "$name" --port "$port" &
  pids+=($!)
done

# Wait (at most 10 s) until every backend answers its health check.
for backend in "${backends[@]}"; do
  read -r name port <<<"$backend"
  for _ in $(seq 100); do
    if curl -fsS -o /dev/null --max-time 1 "http://127.0.0.1:$port/health" 2>/dev/null; then
      continue 2
    fi
    sleep 0.1
  done
  echo "demo.sh: backend $name did not answer on 127.0.0.1:$port" >&2
  exit 1
done

cat <<MSG

Backends up: web-1, web-2, web-3 (127.0.0.1:9101-9103), api-1 (127.0.0.1:9104).
Starting switchyard with $config. In another terminal, try:

  curl -s localhost:$listen_port/              # hello from web-1, web-2, web-3 in turn
  curl -s localhost:$listen_port/api/users     # hello from api-1
  curl -s localhost:$admin_port/clusters      # clusters, instances, live figures (JSON)
  open http://localhost:$admin_port/           # the live page

Ctrl-C stops the gateway and the backends. Access log (JSON) follows:

MSG

# In the foreground, not exec'd, so that the EXIT trap still stops the backends afterwards.
"$binary" serve --config "$config"
