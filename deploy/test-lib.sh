# The reporting helpers of deploy/test-deb.sh and deploy/test-systemd.sh (sourced, not run). A
# check prints one PASS line with what it saw, or a FAIL line and exits 1. `run` logs to $WORK.

pass() { echo "PASS: $*"; }
note() { echo "NOTE: $*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
check() { # description command...
  local what="$1"
  shift
  if "$@"; then pass "$what"; else fail "$what"; fi
}
# Runs a command with its output indented after a header ("--- description", and the command too
# when RUN_SHOWS_COMMAND=1), failing with a message if it fails.
run() { # description command...
  local what="$1" rc=0
  shift
  if [ "${RUN_SHOWS_COMMAND:-0}" = 1 ]; then echo "--- $what: $*"; else echo "--- $what"; fi
  "$@" > "$WORK/run.log" 2>&1 || rc=$?
  sed 's/^/  | /' "$WORK/run.log"
  [ "$rc" = 0 ] || fail "$what (exit $rc)"
  pass "$what"
}
