#!/usr/bin/env bash
# Runs the gateway with ZooKeeper discovery, as root:
#   scripts/demo.sh
# Installs what is missing, builds the `switchyard` target alone, Release, in build-release/ (the
# tests' build/ is left alone; with ccache a rebuild from scratch takes seconds), then starts,
# all on loopback:
#   - a local ZooKeeper (Debian's `zookeeper` package) in a temp dir, on a free port;
#   - four demo backends: web-1..3 on 127.0.0.1:9101-9103, api-1 on 9104;
#   - `switchyard announce` for each web backend: a member of the ServerSet /demo/web, withdrawn
#     while the backend fails its /health check;
#   - switchyard in the foreground with examples/switchyard-zk.yaml (web from the ServerSet,
#     api static).
# Ctrl-C stops everything it started, by PID. SWITCHYARD_BIN=PATH runs that binary (no build).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
example=$root/examples/switchyard-zk.yaml
python=/usr/bin/python3  # Debian's, not whatever python3 is first on PATH
listen_port=8080
admin_port=9901
serverset=/demo/web
web_backends=("web-1 9101" "web-2 9102" "web-3 9103")
other_backends=("api-1 9104")

"$root/scripts/install-deps.sh"
if [[ -n "${SWITCHYARD_BIN:-}" ]]; then
  binary=$SWITCHYARD_BIN  # a binary built elsewhere: no build
else
  BUILD_DIR=$root/build-release "$root/scripts/build.sh" Release --target switchyard
  binary=$root/build-release/switchyard
fi
zk_classpath=/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-simple.jar
if ! command -v java >/dev/null || [[ ! -e /usr/share/java/zookeeper.jar ]]; then
  echo "demo.sh: java or /usr/share/java/zookeeper.jar missing (packages default-jre-headless," >&2
  echo "demo.sh: zookeeper: scripts/install-deps.sh installs them as root)" >&2
  exit 1
fi

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
  echo "demo.sh: earlier demo still running); stop it, or edit the ports in $example." >&2
  exit 1
fi

tmp=$(mktemp -d -t switchyard-demo.XXXXXX)
pids=()  # stopped in reverse order: announcers, then backends, ZooKeeper last
declare -A backend_pid announce_pid
cleanup() {
  local i pid
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    pid=${pids[i]}
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ZooKeeper: standalone, loopback, a free port, no admin server (it would take port 8080).
zk_port=$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$tmp/zookeeper/data"
cat >"$tmp/zookeeper/zoo.cfg" <<CFG
tickTime=500
dataDir=$tmp/zookeeper/data
clientPort=$zk_port
clientPortAddress=127.0.0.1
admin.enableServer=false
4lw.commands.whitelist=srvr,ruok
CFG
(cd "$tmp/zookeeper" &&
  exec java -cp "$zk_classpath" org.apache.zookeeper.server.ZooKeeperServerMain zoo.cfg \
    >zookeeper.log 2>&1) &
pids+=($!)
zk_pid=$!
# Serving once `srvr` names the version (it first answers "not currently serving requests").
if ! "$python" - "$zk_port" <<'PY'; then
import socket, sys, time
deadline = time.time() + 30
while time.time() < deadline:
    try:
        with socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1) as s:
            s.sendall(b"srvr")
            answer = s.makefile("rb").read().decode(errors="replace")
            if "Zookeeper version" in answer and "not currently serving" not in answer:
                sys.exit(0)
    except OSError:
        pass
    time.sleep(0.2)
sys.exit(1)
PY
  echo "demo.sh: ZooKeeper did not start on 127.0.0.1:$zk_port; its log:" >&2
  tail -n 20 "$tmp/zookeeper/zookeeper.log" >&2
  exit 1
fi

for backend in "${web_backends[@]}" "${other_backends[@]}"; do
  read -r name port <<<"$backend"
  "$python" "$root/examples/demo_backend.py" --name "$name" --port "$port" &
  pids+=($!)
  backend_pid[$name]=$!
done

# One announcer per web backend: a member_ node under /demo/web, shard = its number - 1.
for backend in "${web_backends[@]}"; do
  read -r name port <<<"$backend"
  "$binary" announce --zk "127.0.0.1:$zk_port" --path "$serverset" \
    --endpoint "http=127.0.0.1:$port" --shard $((${name#web-} - 1)) \
    --health-url "http://127.0.0.1:$port/health" 2>"$tmp/announce-$name.log" &
  pids+=($!)
  announce_pid[$name]=$!
done

# Wait (at most 15 s) until every backend answers and every web backend is announced.
for backend in "${web_backends[@]}" "${other_backends[@]}"; do
  read -r name port <<<"$backend"
  for _ in $(seq 150); do
    if curl -fsS -o /dev/null --max-time 1 "http://127.0.0.1:$port/health" 2>/dev/null &&
      { [[ $name != web-* ]] || grep -q "announced $serverset/member_" "$tmp/announce-$name.log"; }; then
      continue 2
    fi
    sleep 0.1
  done
  echo "demo.sh: $name did not come up on 127.0.0.1:$port (announce log:" \
    "$(tail -n 3 "$tmp/announce-$name.log" 2>/dev/null))" >&2
  exit 1
done

config=$tmp/switchyard.yaml
sed "s|\"127.0.0.1:2181\"|\"127.0.0.1:$zk_port\"|" "$example" >"$config"

cat <<MSG

ZooKeeper on 127.0.0.1:$zk_port (pid $zk_pid). Backends web-1, web-2, web-3 (127.0.0.1:9101-9103),
each announced in $serverset by \`switchyard announce\`; api-1 (127.0.0.1:9104) is static.
Starting switchyard with $example (ZooKeeper port filled in). In another terminal, try:

  curl -s localhost:$listen_port/              # hello from web-1, web-2, web-3 in turn
  curl -s localhost:$listen_port/api/users     # hello from api-1
  curl -s localhost:$admin_port/clusters      # clusters, instances, live figures (JSON)
  open http://localhost:$admin_port/           # the live page

Watch a member come and go: kill the announce of web-2 (pid ${announce_pid[web-2]}) and curl again;
web-2 leaves the rotation and /clusters shows it gone:

  kill ${announce_pid[web-2]}; curl -s localhost:$listen_port/; curl -s localhost:$admin_port/clusters

Bring it back (Ctrl-C that one yourself when done):

  $binary announce --zk 127.0.0.1:$zk_port --path $serverset \\
    --endpoint http=127.0.0.1:9102 --shard 1 --health-url http://127.0.0.1:9102/health

Or stop backend web-3 (pid ${backend_pid[web-3]}): its announce withdraws it after 2 failed health
checks (announce logs: $tmp/announce-web-*.log).

Ctrl-C stops the gateway, the announcers, the backends and ZooKeeper. Access log (JSON) follows:

MSG

# In the foreground, not exec'd, so that the EXIT trap still stops the rest afterwards.
"$binary" serve --config "$config"
