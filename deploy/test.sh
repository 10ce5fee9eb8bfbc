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
swift test --skip-build --disable-xctest --skip AppClientEmulationTests
# The app client's emulation on the large fixture keeps both cores busy for a minute: on its own,
# it cannot starve the suite's timing-sensitive broker tests.
swift test --skip-build --disable-xctest --filter AppClientEmulationTests
# Benchmarks with a quick mode run too, so they cannot rot; their figures are not judged here.
"$(swift build --show-bin-path)/egglogu-bench" legacy --quick
"$(swift build --show-bin-path)/egglogu-bench" farms --quick --database private
"$(swift build --show-bin-path)/egglogu-bench" load --quick --database private
echo "browser screenshots: ${EGGLOGU_TEST_ARTIFACTS:-.build/test-artifacts}/browser/"
