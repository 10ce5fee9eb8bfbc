#!/usr/bin/env bash
# Proves the packaged units under a real systemd (Debian 12's 252) booted as PID 1 in a
# systemd-nspawn container: the .debs are installed there, the server and a provisioned agent are
# started, and what the units promise is checked against the running processes: notify readiness,
# the hardening (user, read-only /etc, no capabilities, private credentials), reload keeping
# queued changes, the watchdog, and `offline` presence on a clean stop. Prints a PASS line per
# check and stops at the first failure (exit 1). Needs root, systemd-nspawn and debootstrap:
# exits 77 (skip) otherwise.
#
# The host is left as it was: the container runs on a read-only, cached Debian root with a
# throw-away overlay (--volatile=overlay), in cgroups of its own that are removed on exit. It
# shares the host's network: the broker (mosquitto) runs on the host, on a free loopback port,
# and the server listens on another. Cached between runs, under /var/cache/egglogu-sync-test/:
# the container root (bookworm-systemd/, built once with debootstrap) and the last pair of .debs
# (debs/, reused while the binaries and the packaging files are unchanged).
set -euo pipefail

# Signals the caller ignores or blocks stay so through exec, and bash cannot undo that: the Swift
# test runner ignores SIGHUP and SIGTERM for its own handling, and a broker started from here would
# then never reload or stop. Start again through python3, with every signal at its default.
if [ -z "${EGGLOGU_TEST_SIGNALS_RESET:-}" ] && command -v python3 >/dev/null 2>&1; then
  export EGGLOGU_TEST_SIGNALS_RESET=1
  exec python3 -c '
import os, signal, sys
for s in signal.valid_signals():
    try:
        signal.signal(s, signal.SIG_DFL)
    except (OSError, ValueError):
        pass
signal.pthread_sigmask(signal.SIG_SETMASK, [])
os.execv("/bin/bash", ["bash"] + sys.argv[1:])
' "${BASH_SOURCE[0]}" "$@"
fi
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${EGGLOGU_TEST_CACHE:-/var/cache/egglogu-sync-test}"
SUITE=bookworm
ROOT="$CACHE/$SUITE-systemd"
STAMP="$CACHE/$SUITE-systemd.stamp"
INCLUDE="systemd,systemd-sysv,dbus,libnss-systemd,procps,libmosquitto1,libsqlite3-0"
FARM=farm-systemd
DEVICE=gw-systemd
AGENT=egglogu-agent
SERVER=egglogu-sync-server
started=$SECONDS

case ":$PATH:" in *:/usr/sbin:*) ;; *) PATH="/usr/sbin:/sbin:$PATH" ;; esac
export PATH

usage() {
  cat <<EOF
Usage: deploy/test-systemd.sh [--from DIR] [--mirror URL] [--rebuild-root]

Builds both packages with deploy/build-deb.sh, boots systemd as PID 1 in a systemd-nspawn
container on a cached Debian $SUITE root, installs the packages there with dpkg -i, and checks
the units for real (as root; about 40 s once the root and the packages are cached):

  - Type=notify: systemctl start returns with the unit active (running) and a STATUS= text;
  - hardening: the service user (not root), no capabilities, / and /etc read-only for the
    service, credentials readable by the service only;
  - systemctl reload keeps the MainPID and the queued changes, which reach the server later;
  - a frozen agent (SIGSTOP) is killed by the watchdog and restarted;
  - a clean stop publishes a retained 'offline' presence and ends with Result=success;
  - a NOTE on whether MemoryMax= is enforced on this host's cgroups.

  --from DIR      package the prebuilt DIR/egglogu-agent and DIR/egglogu-sync-server, copied
                  first (default: build-deb.sh builds them in release mode). A build that loads
                  the Swift runtime from its RUNPATH (a debug build) gets that directory bound
                  read-only into the container at the same path.
  --mirror URL    the Debian mirror for debootstrap (default: this machine's, from
                  /etc/apt/sources.list and /etc/apt/sources.list.d/*.{list,sources})
  --rebuild-root  build the container root again (about 1 min)

Cache: $CACHE (EGGLOGU_TEST_CACHE overrides it): the root ($SUITE-systemd/ and its
stamp) and the last packages (debs/). Needs systemd-container and debootstrap:
  apt-get install --no-install-recommends systemd-container debootstrap
(--no-install-recommends matters: the recommended libnss-mymachines edits /etc/nsswitch.conf.)
Also needs mosquitto and mosquitto-clients on the host (deploy/install-deps.sh).
EOF
}

FROM=""
MIRROR="${EGGLOGU_TEST_MIRROR:-}"
REBUILD=0
while [ $# -gt 0 ]; do
  case "$1" in
    --from|--mirror)
      if [ $# -lt 2 ] || [ -z "$2" ]; then echo "test-systemd.sh: $1 needs a value" >&2; exit 2; fi
      if [ "$1" = --from ]; then FROM="$(cd "$2" && pwd)"; else MIRROR="$2"; fi
      shift 2 ;;
    --from=*) FROM="$(cd "${1#--from=}" && pwd)"; shift ;;
    --mirror=*) MIRROR="${1#--mirror=}"; shift ;;
    --rebuild-root) REBUILD=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "test-systemd.sh: unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done

skip() { echo "test-systemd.sh: skipped: $*" >&2; exit 77; }
[ "$(id -u)" = 0 ] || skip "must run as root (it boots a container with systemd-nspawn)"
command -v systemd-nspawn >/dev/null 2>&1 \
  || skip "systemd-nspawn is missing: apt-get install --no-install-recommends systemd-container debootstrap"
command -v debootstrap >/dev/null 2>&1 \
  || skip "debootstrap is missing: apt-get install --no-install-recommends systemd-container debootstrap"
for tool in nsenter setpriv mosquitto mosquitto_passwd mosquitto_sub ss readelf dpkg-deb flock sha256sum; do
  command -v "$tool" >/dev/null 2>&1 || skip "$tool is missing (deploy/install-deps.sh installs what the tests need)"
done
[ -d /sys/fs/cgroup ] || skip "no /sys/fs/cgroup"

# shellcheck source=deploy/test-lib.sh
. "$REPO/deploy/test-lib.sh"
# Polls a command (quietly) every 0.2 s until it succeeds or the seconds run out.
wait_for() { # seconds command...
  local deadline=$((SECONDS + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.2
  done
}

# The container and the broker run at niceness 0 even when this script is niced (the test suite
# runs it at 19 to keep the package build from starving its neighbours): they are light, and the
# watchdog check gives the agent 3 s.
NORMAL_PRIORITY=(nice -n "$((0 - $(nice)))")

# --- One run at a time; the work directory; cleanup ---------------------------------------------

mkdir -p "$CACHE"
exec 9> "$CACHE/.lock"
if ! flock -n 9; then
  echo "test-systemd.sh: another run holds $CACHE/.lock: waiting (up to 15 min)" >&2
  flock -w 900 9 || { echo "test-systemd.sh: error: $CACHE/.lock still held" >&2; exit 1; }
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/egglogu-test-systemd.XXXXXX")"
NAME="egglogu-test-$$"
NSPAWN_PID=""
LEADER=""
BROKER_PID=""
OBSERVER_PID=""
CGROUPS=()

# Runs a command in the container: every namespace of its PID 1, a clean environment.
inside() { nsenter -t "$LEADER" -a env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"; }

cleanup() {
  local rc=$? i cg
  trap - EXIT
  set +e
  if [ "$rc" != 0 ] && [ -n "$LEADER" ] && kill -0 "$LEADER" 2>/dev/null; then
    echo "--- the units' journal (last 40 lines)" >&2
    timeout 10 nsenter -t "$LEADER" -a journalctl --no-pager -n 40 -u "$AGENT" -u "$SERVER" 2>&1 | sed 's/^/  | /' >&2
  fi
  # SIGKILL: a parent may have SIGTERM blocked (the Swift test runner does), and the children
  # inherit its mask; left alive they would hold the caller's output pipes open.
  for pid in "$OBSERVER_PID" "$BROKER_PID"; do
    [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  done
  if [ -n "$NSPAWN_PID" ] && kill -0 "$NSPAWN_PID" 2>/dev/null; then
    # SIGRTMIN+4 asks systemd to power off, should systemctl be unable to.
    if [ -n "$LEADER" ]; then
      timeout 10 nsenter -t "$LEADER" -a systemctl poweroff >/dev/null 2>&1 || kill -s SIGRTMIN+4 "$LEADER" 2>/dev/null
    fi
    for i in $(seq 100); do kill -0 "$NSPAWN_PID" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$NSPAWN_PID" 2>/dev/null; then
      echo "test-systemd.sh: the container did not power off in 10 s: killing it" >&2
      [ -n "$LEADER" ] && kill -KILL "$LEADER" 2>/dev/null
      sleep 0.5
      kill -KILL "$NSPAWN_PID" 2>/dev/null
    fi
    wait "$NSPAWN_PID" 2>/dev/null
  fi
  # nspawn leaves its payload/ and supervisor/ cgroups behind (empty once it has exited).
  for cg in "${CGROUPS[@]}"; do
    [ -d "$cg" ] && find "$cg" -depth -type d -exec rmdir {} \; 2>/dev/null
    [ -d "$cg" ] && echo "test-systemd.sh: warning: could not remove the cgroup $cg" >&2
  done
  rm -rf "/run/systemd/nspawn/propagate/$NAME"
  if [ "$rc" != 0 ] && [ -s "$WORK/nspawn.log" ]; then
    echo "--- the container's console (last 15 lines)" >&2
    tail -n 15 "$WORK/nspawn.log" | sed 's/^/  | /' >&2
  fi
  rm -rf "$WORK"
  if [ "$rc" = 0 ]; then
    echo "test-systemd.sh: all checks passed ($((SECONDS - started)) s)"
  else
    echo "test-systemd.sh: FAILED (exit $rc)" >&2
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- The container root (cached) ---------------------------------------------------------------

# shellcheck source=deploy/test-systemd-setup.sh
. "$REPO/deploy/test-systemd-setup.sh"
container_root

# --- The packages --------------------------------------------------------------------------------

packages

# --- Boot ------------------------------------------------------------------------------------------

# Cgroups of its own for nspawn (it creates payload/ and supervisor/ under its cgroup): concurrent
# runs and other tools never share them, and cleanup removes the whole tree.
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
  hierarchies=(/sys/fs/cgroup) # cgroup v2 only
else
  hierarchies=()
  for h in /sys/fs/cgroup/systemd /sys/fs/cgroup/unified; do
    [ -f "$h/cgroup.procs" ] && hierarchies+=("$h")
  done
fi
[ "${#hierarchies[@]}" -gt 0 ] || fail "no systemd or unified cgroup hierarchy under /sys/fs/cgroup"
for h in "${hierarchies[@]}"; do
  mkdir "$h/$NAME" || fail "cannot create the cgroup $h/$NAME"
  CGROUPS+=("$h/$NAME")
done

echo "--- booting: systemd-nspawn -D $ROOT --boot --volatile=overlay -M $NAME ${BINDS[*]} --bind-ro=$WORK/share:/srv/egglogu-test"
boot_started=$SECONDS
# shellcheck disable=SC2016 # $BASHPID and "$@" belong to the inner shell
bash -c 'for cg in "${@:2:$1}"; do echo "$BASHPID" > "$cg/cgroup.procs"; done; shift "$(($1 + 1))"; exec "$@"' \
  cgroups "${#CGROUPS[@]}" "${CGROUPS[@]}" \
  "${NORMAL_PRIORITY[@]}" systemd-nspawn -D "$ROOT" --boot --register=no --keep-unit --volatile=overlay --console=pipe -M "$NAME" \
  "${BINDS[@]}" --bind-ro="$WORK/share:/srv/egglogu-test" \
  < /dev/null > "$WORK/nspawn.log" 2>&1 &
NSPAWN_PID=$!
container_init() { # PID 1 of the container: nspawn's child running systemd
  local pid
  for pid in $(ps -o pid= --ppid "$NSPAWN_PID" 2>/dev/null); do
    if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = systemd ]; then LEADER="$pid"; return 0; fi
  done
  return 1
}
for i in $(seq 100); do
  container_init && break
  kill -0 "$NSPAWN_PID" 2>/dev/null || fail "systemd-nspawn exited: $(tail -n 5 "$WORK/nspawn.log")"
  sleep 0.1
done
[ -n "$LEADER" ] || fail "no systemd under systemd-nspawn (pid $NSPAWN_PID) after 10 s"
# systemd answers on its private socket once it has set itself up; until then systemctl cannot connect.
system_state() {
  state="$(timeout 60 nsenter -t "$LEADER" -a systemctl is-system-running --wait 2>&1 || true)"
  case "$state" in running|degraded|maintenance|stopping|offline) return 0 ;; *) return 1 ;; esac
}
until system_state; do
  [ "$((SECONDS - boot_started))" -lt 60 ] || break
  kill -0 "$NSPAWN_PID" 2>/dev/null || fail "systemd-nspawn exited: $(tail -n 5 "$WORK/nspawn.log")"
  sleep 0.2
done
case "$state" in
  running) ;;
  degraded) note "the container booted degraded; failed units: $(inside systemctl --failed --no-legend --plain | awk '{ print $1 }' | tr '\n' ' ')" ;;
  *) fail "the container's systemd did not finish booting: is-system-running says '$state'" ;;
esac
check "systemd booted as PID 1 in the container ($(inside systemctl --version | sed -n '1s/ (.*//p'), '$state' after $((SECONDS - boot_started)) s)" \
  test "$(inside cat /proc/1/comm)" = systemd

# --- Install ---------------------------------------------------------------------------------------

# Like a Docker build: policy-rc.d keeps the postinst from starting the server on its default
# port (the container shares the host's network); it is started below, configured.
printf '#!/bin/sh\nexit 101\n' | inside tee /usr/sbin/policy-rc.d > /dev/null
inside chmod 0755 /usr/sbin/policy-rc.d
run "dpkg -i both packages in the container" inside dpkg -i \
  "/srv/egglogu-test/debs/$(basename "${DEBS[0]}")" "/srv/egglogu-test/debs/$(basename "${DEBS[1]}")"
inside rm -f /usr/sbin/policy-rc.d
for p in "$AGENT" "$SERVER"; do
  check "$p is installed and its unit enabled by the postinst" \
    test "$(inside dpkg-query -W -f='${db:Status-Status}' "$p") $(inside systemctl is-enabled "$p" 2>&1)" = "installed enabled"
done

# Not provisioned: the unit's ConditionPathExists= skips it without a failure.
inside systemctl start "$AGENT"
check "$AGENT before provisioning: start is skipped cleanly (ConditionResult=no, inactive, Result=success)" \
  test "$(inside systemctl show -P ConditionResult "$AGENT") $(inside systemctl show -P ActiveState "$AGENT") $(inside systemctl show -P Result "$AGENT")" = "no inactive success"

# --- The broker (on the host) ------------------------------------------------------------------------

start_broker

# --- Checks on a running unit -----------------------------------------------------------------------

# shellcheck source=deploy/test-systemd-checks.sh
. "$REPO/deploy/test-systemd-checks.sh"
# --- The server ----------------------------------------------------------------------------------------

inside tee -a /etc/$SERVER/server.conf > /dev/null <<EOF

# test-systemd.sh
EGGLOGU_SYNC_HOST=127.0.0.1
EGGLOGU_SYNC_PORT=$HTTP_PORT
EGGLOGU_SYNC_MQTT_HOST=127.0.0.1
EGGLOGU_SYNC_MQTT_PORT=$MQTT_PORT
EGGLOGU_SYNC_MQTT_USERNAME=egglogu-sync-server
EGGLOGU_SYNC_PUBLIC_URL=http://127.0.0.1:$HTTP_PORT
EGGLOGU_SYNC_DEVICE_MQTT_HOST=127.0.0.1
EGGLOGU_SYNC_DEVICE_MQTT_PORT=$MQTT_PORT
EOF
printf '%s\n' "$SERVER_MQTT_PASSWORD" | inside tee /etc/$SERVER/mqtt-password > /dev/null
run "$SERVER config check" inside $SERVER config check /etc/$SERVER/server.conf

# GET over bash's /dev/tcp (no curl needed): prints the whole response.
http_get() { # path [bearer-token]
  local auth=""
  if [ -n "${2:-}" ]; then auth="Authorization: Bearer $2"$'\r\n'; fi
  # shellcheck disable=SC2016 # expanded by the inner shell
  timeout 10 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" \
    && printf "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%sConnection: close\r\n\r\n" "$2" "$3" >&3 && cat <&3' \
    http_get "$HTTP_PORT" "$1" "$auth"
}

run "systemctl start $SERVER" inside systemctl start $SERVER
healthz="$(http_get /healthz 2>&1 || true)"
check "$SERVER answered GET /healthz as soon as systemctl start returned (READY=1 comes after the listener)" \
  grep -q '^HTTP/1.1 200' <<< "$healthz"
check_notify $SERVER "^serving on http://127\\.0\\.0\\.1:$HTTP_PORT"

# --- The agent: provisioned as INSTALL.txt says ---------------------------------------------------

run "$SERVER provision --farm $FARM --device $DEVICE" inside $SERVER provision --farm $FARM --device $DEVICE --out /root/bundle
run "installing the bundle as INSTALL.txt says" inside sh -ec "
  cd /root/bundle
  grep -q 'install -m 0640 -g egglogu-agent agent/agent.conf /etc/egglogu-agent/agent.conf' INSTALL.txt
  install -m 0640 -g egglogu-agent agent/agent.conf /etc/egglogu-agent/agent.conf
  install -m 0600 agent/token /etc/egglogu-agent/token
  install -m 0600 agent/mqtt-password /etc/egglogu-agent/mqtt-password
  egglogu-agent config check /etc/egglogu-agent/agent.conf"
inside cat /root/bundle/central-broker/passwd >> "$BROKER/passwd"
inside cat /root/bundle/central-broker/acl >> "$BROKER/acl"
kill -HUP "$BROKER_PID"
pass "the broker has the device's user and ACL block (central-broker/ of the bundle, then SIGHUP)"

PRESENCE="egglogu/$FARM/devices/$DEVICE/status"
mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -u egglogu-test-observer -P "$OBSERVER_PASSWORD" -v -t "$PRESENCE" \
  > "$WORK/presence.log" 2>&1 &
OBSERVER_PID=$!

run "systemctl start $AGENT" inside systemctl start $AGENT
check_notify $AGENT "^(realtime|polling|offline).*[0-9]+ queued change"
last_presence() { tail -n 1 "$WORK/presence.log" | awk '{ print $2 }'; }
presence_is() { [ "$(last_presence)" = "$1" ]; }
wait_for 15 presence_is online || fail "$AGENT: no 'online' on $PRESENCE (last: '$(last_presence)')"
pass "$AGENT: connected to the broker: $PRESENCE is 'online'"
realtime() { show $AGENT StatusText | grep -q '^realtime'; }
wait_for 15 realtime || fail "$AGENT: not realtime: $(show $AGENT StatusText)"

check_hardening $SERVER egglogu-sync /var/lib/egglogu-sync-server jwt-secret mqtt-password
check_hardening $AGENT egglogu-agent /var/lib/egglogu-agent token mqtt-password

# --- systemctl reload keeps queued changes ------------------------------------------------------------

status_json() { inside $AGENT status --config /etc/egglogu-agent/agent.conf --json | tr -d ' \n'; }
unpushed() { status_json | grep -o '"unpushed":[0-9]*' | cut -d: -f2; }
server_unreachable() { status_json | grep -q '"server":{"reachable":false'; }
nothing_queued() { [ "$(unpushed)" = 0 ]; }

run "systemctl stop $SERVER (the server goes away)" inside systemctl stop $SERVER
check "$SERVER: a clean stop (inactive, Result=success)" \
  test "$(show $SERVER ActiveState) $(show $SERVER Result)" = "inactive success"
agent_pid="$(main_pid $AGENT)"
for i in 1 2; do
  run "egglogu-agent put flocks systemd-reload-$i (as root: the CLI becomes egglogu-agent)" \
    inside $AGENT put --config /etc/egglogu-agent/agent.conf flocks "{\"id\":\"systemd-reload-$i\",\"name\":\"queued across a reload $$\"}"
done
wait_for 15 server_unreachable || fail "$AGENT: never found the server unreachable"
queued="$(unpushed)"
check "$AGENT: the edits are queued ($queued unpushed changes), the server unreachable: '$(show $AGENT StatusText)'" test "$queued" -ge 2
reloads_before="$(inside journalctl -u $AGENT -o cat --no-pager | grep -c 'configuration reloaded' || true)"
run "systemctl reload $AGENT" inside systemctl reload $AGENT
reloaded() { [ "$(inside journalctl -u $AGENT -o cat --no-pager | grep -c 'configuration reloaded')" -gt "$reloads_before" ]; }
wait_for 15 reloaded || fail "$AGENT: no 'configuration reloaded' in the journal after systemctl reload"
check "$AGENT: reloaded ('configuration reloaded' logged), same MainPID $agent_pid, $(show $AGENT ActiveState)/$(show $AGENT SubState)" \
  test "$(main_pid $AGENT) $(show $AGENT ActiveState) $(show $AGENT SubState)" = "$agent_pid active running"
check "$AGENT: still $queued queued changes after the reload (egglogu-agent status)" test "$(unpushed)" = "$queued"
check "$AGENT: every file in /var/lib/egglogu-agent still belongs to egglogu-agent" \
  test -z "$(inside find /var/lib/egglogu-agent ! -user egglogu-agent)"
run "systemctl start $SERVER (the server comes back)" inside systemctl start $SERVER
pushed_at=$SECONDS
wait_for 90 nothing_queued || fail "$AGENT: $(unpushed) changes still queued 90 s after the server came back"
pass "$AGENT: the queue drained $((SECONDS - pushed_at)) s after the server came back (0 unpushed)"
token="$(inside $SERVER token --farm $FARM --device systemd-test-checker --ttl 1h)"
delta="$(http_get "/api/v1/sync/delta?farmId=$FARM" "$token" 2>&1 || true)"
check "the server has both edits: GET /api/v1/sync/delta as another device returns systemd-reload-1 and -2" \
  test "$(grep -o '"id":"systemd-reload-[12]","name":"queued across a reload '"$$"'"' <<< "$delta" | sort -u | wc -l)" = 2

# --- The watchdog -------------------------------------------------------------------------------------

DROPIN=/run/systemd/system/$AGENT.service.d
inside mkdir -p "$DROPIN"
printf '[Service]\nWatchdogSec=3s\nTimeoutAbortSec=2s\nRestartSec=1s\nLimitCORE=0\n' \
  | inside tee "$DROPIN/50-test-systemd-watchdog.conf" > /dev/null
inside systemctl daemon-reload
run "systemctl restart $AGENT with a drop-in: WatchdogSec=3s TimeoutAbortSec=2s RestartSec=1s" inside systemctl restart $AGENT
agent_pid="$(main_pid $AGENT)"
restarts="$(show $AGENT NRestarts)"
ping1="$(show $AGENT WatchdogTimestampMonotonic)"
sleep 4.5
ping2="$(show $AGENT WatchdogTimestampMonotonic)"
check "$AGENT: alive past WatchdogSec=$(show $AGENT WatchdogUSec): same MainPID $agent_pid after 4.5 s, WATCHDOG=1 still arriving (WatchdogTimestamp moved $(( (ping2 - ping1) / 1000 )) ms in 4.5 s)" \
  test "$(main_pid $AGENT) $(show $AGENT ActiveState)" = "$agent_pid active" -a "$ping2" -gt "$ping1"
since="$(inside date '+%Y-%m-%d %H:%M:%S')"
inside kill -STOP "$agent_pid"
frozen_at=$SECONDS
replaced() { local pid; pid="$(main_pid $AGENT)"; [ "$pid" != 0 ] && [ "$pid" != "$agent_pid" ] && [ "$(show $AGENT ActiveState)" = active ]; }
wait_for 30 replaced || fail "$AGENT: MainPID $agent_pid frozen 30 s ago and still not replaced ($(show $AGENT ActiveState))"
inside journalctl -u $AGENT --since "$since" -o cat --no-pager > "$WORK/watchdog.log"
sed 's/^/  | /' "$WORK/watchdog.log" | grep -E 'Watchdog|ABRT|result|restart' || true
check "$AGENT: systemd logged 'Watchdog timeout' for the frozen (SIGSTOP) process" grep -q 'Watchdog timeout' "$WORK/watchdog.log"
check "$AGENT: ... and \"Failed with result 'watchdog'\"" grep -q "Failed with result 'watchdog'" "$WORK/watchdog.log"
check "$AGENT: restarted by Restart=on-failure within $((SECONDS - frozen_at)) s: NRestarts $restarts -> $(show $AGENT NRestarts), new MainPID $(main_pid $AGENT) active" \
  test "$(show $AGENT NRestarts)" = "$((restarts + 1))"
inside rm -rf "$DROPIN"
inside systemctl daemon-reload
after_restart() { echo "StatusText '$(show $AGENT StatusText)', presence seen: $(tail -n 4 "$WORK/presence.log" | awk '{ print $2 }' | tr '\n' ' ')"; }
wait_for 30 realtime || fail "$AGENT: not realtime 30 s after the watchdog restart: $(after_restart)"
wait_for 30 presence_is online || fail "$AGENT: not 'online' 30 s after the watchdog restart: $(after_restart)"

# --- MemoryMax= (a note, not a check) ------------------------------------------------------------------

agent_pid="$(main_pid $AGENT)"
note "$AGENT: MemoryMax=$(show $AGENT MemoryMax), MemoryCurrent=$(show $AGENT MemoryCurrent); its cgroups: $(inside cat "/proc/$agent_pid/cgroup" | grep -E ':(memory|):' | tr '\n' ' ')"
controllers="$(inside cat /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null || inside cat /sys/fs/cgroup/cgroup.controllers 2>/dev/null || true)"
note "cgroup v2 controllers in the container: ${controllers:-none}; its v1 memory hierarchy: $(inside awk '$5 == "/sys/fs/cgroup/memory" { split($6, o, ","); print "mounted " o[1]; m = 1 } END { if (!m) print "not mounted" }' /proc/1/mountinfo)"
printf '%s\n' 'x=$(head -c 134217728 /dev/zero | tr "\0" a)' \
  'echo "held ${#x} bytes, $(grep VmHWM /proc/$$/status | tr -s " \t" " ")"' | inside tee /run/egglogu-test-memory.sh > /dev/null
if out="$(timeout 60 nsenter -t "$LEADER" -a systemd-run --quiet --wait --pipe -p MemoryMax=32M -p User=nobody bash /run/egglogu-test-memory.sh 2>&1)"; then
  note "MemoryMax= is NOT enforced here: a transient unit with MemoryMax=32M $out and exited 0"
else
  note "MemoryMax= is enforced here: a transient unit with MemoryMax=32M failed to hold 128 MiB: $out"
fi

# --- A clean stop publishes offline ---------------------------------------------------------------------

log_lines="$(wc -l < "$BROKER/mosquitto.log")"
run "systemctl stop $AGENT" inside systemctl stop $AGENT
check "$AGENT: stopped cleanly: $(show $AGENT ActiveState), Result=$(show $AGENT Result), exit status $(show $AGENT ExecMainStatus)" \
  test "$(show $AGENT ActiveState) $(show $AGENT Result) $(show $AGENT ExecMainStatus)" = "inactive success 0"
sleep 0.3
tail -n +"$((log_lines + 1))" "$BROKER/mosquitto.log" | grep -E "PUBLISH from|DISCONNECT|disconnected|closed|Socket error" | sed 's/^[0-9]*: /  | /' || true
check "$AGENT: it published 'offline' (7 bytes, retained r1) itself, then sent DISCONNECT: not the Last Will" \
  awk -v t="'$PRESENCE'" 'index($0, "Received PUBLISH from") && index($0, ", r1,") && index($0, t) && index($0, "(7 bytes)") { p = 1 }
    p && index($0, "Received DISCONNECT from") { d = 1 } END { exit !(p && d) }' <(tail -n +"$((log_lines + 1))" "$BROKER/mosquitto.log")
retained="$(mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -u egglogu-test-observer -P "$OBSERVER_PASSWORD" -t "$PRESENCE" -C 1 -W 5 -F '%r %p' 2>&1 || true)"
check "$AGENT: a new subscriber to $PRESENCE gets the retained '${retained#* }' (retain flag ${retained%% *})" test "$retained" = "1 offline"
