# shellcheck shell=bash
# A throw-away ZooKeeper for the churn benchmark (sourced, not run; needs common.sh).
# The same approach as scripts/demo.sh: Debian's zookeeper.jar, standalone, loopback only, a free
# port, no admin server (it would take port 8080), data in a temp dir.

CHURN_ZK_CLASSPATH=/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-simple.jar

# churn_zk_available: java and the jar are installed (packages default-jre-headless, zookeeper).
churn_zk_available() {
  command -v java >/dev/null && [[ -e /usr/share/java/zookeeper.jar ]]
}

# churn_zk_start DIR: starts ZooKeeper with its data and log under DIR, recorded in BENCH_PIDS
# (variable zk_pid); sets zk_port. Returns non-zero, log on stderr, if it does not serve in 30 s.
churn_zk_start() {
  local dir=$1
  zk_port=$(free_ports 1)
  mkdir -p "$dir/data"
  cat >"$dir/zoo.cfg" <<CFG
tickTime=500
dataDir=$dir/data
clientPort=$zk_port
clientPortAddress=127.0.0.1
admin.enableServer=false
4lw.commands.whitelist=srvr,ruok
CFG
  # -Xmx: the default heap is a quarter of the machine's memory, for a few znodes.
  start_bg zk "$dir/zookeeper.log" bash -c "cd '$dir' && exec java -Xmx256m \
    -cp '$CHURN_ZK_CLASSPATH' org.apache.zookeeper.server.ZooKeeperServerMain zoo.cfg"
  # Serving once `srvr` names the version (it first answers "not currently serving requests").
  if ! /usr/bin/python3 - "$zk_port" <<'PY'; then
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
    echo "churn_bench: ZooKeeper did not start on 127.0.0.1:$zk_port; its log:" >&2
    tail -n 20 "$dir/zookeeper.log" >&2
    return 1
  fi
}
