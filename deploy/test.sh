#!/usr/bin/env bash
# The test command: install dependencies, build, run every test suite (Swift Testing).
set -euo pipefail
cd "$(dirname "$0")/.."
./deploy/install-deps.sh --tests
export PATH="/opt/swift/usr/bin:$PATH"
# The module graph: imports declared, layers kept, README's table true (and the check's own rules still bite).
python3 scripts/check-module-graph.py --self-test
python3 scripts/check-module-graph.py
# The code's format (.swift-format): `swift format format --in-place --recursive Sources Tests Benchmarks Package.swift` fixes it.
swift format lint --strict --recursive --parallel Sources Tests Benchmarks Package.swift
swift build --build-tests
# A crash shows only the crashed thread, so CI's tail of the output still holds it.
export SWIFT_BACKTRACE="enable=yes,threads=crashed,registers=none,images=none"
# Ends what a crashed or stopped test process left running (agents, servers, brokers, nginx and
# their watchers): each is started on a path under the tests' own directories.
sweep() {
    pkill -KILL -f "/egglogu-test-" 2>/dev/null || true
}
# Runs a part of the suite, keeping its output; when it fails, its failures and any crash are
# repeated at the end, where a truncated CI log still shows them. The output goes to the log file and
# is followed from there, so a child the tests left running cannot hold a pipe open, and a hang ends
# at the time limit instead of at CI's.
suite() {
    local log status limit=$2
    log=".build/test-output-$1.log"
    shift 2
    set +e
    timeout --kill-after=30 "$limit" swift test --skip-build --disable-xctest "$@" >"$log" 2>&1 &
    local pid=$!
    tail -n +1 -f --pid="$pid" "$log"
    wait "$pid"
    status=$?
    set -e
    sweep
    if [ "$status" -ne 0 ]; then
        [ "$status" -eq 124 ] && echo "=== timed out after $limit"
        echo "=== failed (exit $status); the failures and any crash, from $log:"
        grep -a -E -A 30 "crashed:|Fatal error|Precondition failed|Assertion failed" "$log" | head -80 || true
        # Each failure with the first lines of its message (Swift Testing writes them as "↳" lines).
        awk '/✘|error:/ { print substr($0, 1, 400); more = /recorded an issue/ ? 150 : 0; next }
             /^(✔|◇|⚠|􀟈)/ { more = 0 } more > 0 { print substr($0, 1, 400); more-- }' "$log" | head -600 || true
    fi
    return "$status"
}
suite main 30m --skip AppClientEmulationTests
# The app client's emulation on the large fixture keeps both cores busy for a minute: on its own,
# it cannot starve the suite's timing-sensitive broker tests.
suite emulation 15m --filter AppClientEmulationTests
# Benchmarks with a quick mode run too, so they cannot rot; their figures are not judged here.
bench="$(swift build --show-bin-path)/egglogu-bench"
"$bench" run --quick
"$bench" sync --quick
"$bench" legacy --quick
"$bench" realtime --quick
"$bench" fanout --quick --database private
"$bench" page --quick
# The agent inside a quarter-core, 256 MB cgroup; on a host without writable cgroups it says "skipped".
"$bench" pi --quick
"$bench" farms --quick --database private
"$bench" load --quick --database private
# libFuzzer on each parser of untrusted bytes for 15 s (longer on demand: scripts/fuzz --seconds 600);
# a finding fails the run and keeps its input in .build-fuzz/findings/.
./scripts/fuzz --seconds 15
echo "browser screenshots: ${EGGLOGU_TEST_ARTIFACTS:-.build/test-artifacts}/browser/"
