#!/usr/bin/env python3
"""Times short egglogu-agent commands with two builds, run alternately on one replica.

Usage: scripts/compare-agents.py BEFORE AFTER REPLICA [--runs N]

BEFORE and AFTER are egglogu-agent binaries (say, the same tree built before and after a change).
Each command runs N times with each binary, alternating, so both see the same machine; the median
and minimum wall time of each are printed, and peak RSS of one export each. Nothing is written but
REPLICA's directory's out.json (and SQLite's -wal/-shm beside REPLICA).
"""
import argparse
import os
import statistics
import subprocess
import time


def once(args):
    start = time.perf_counter()
    subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def peak_rss_kb(args):
    pid = os.fork()
    if pid == 0:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        os.execv(args[0], args)
    _, status, usage = os.wait4(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{args} failed")
    return usage.ru_maxrss


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before")
    parser.add_argument("after")
    parser.add_argument("replica")
    parser.add_argument("--runs", type=int, default=21)
    options = parser.parse_args()
    out = os.path.join(os.path.dirname(os.path.abspath(options.replica)), "out.json")
    commands = {
        "--help (start-up alone)": lambda agent: [agent, "--help"],
        "get flocks": lambda agent: [agent, "get", "--replica", options.replica, "flocks"],
        "status": lambda agent: [agent, "status", "--replica", options.replica],
        "export -o": lambda agent: [agent, "export", "--replica", options.replica, "-o", out],
    }
    ms = lambda xs: f"{statistics.median(xs) * 1000:.1f} / {min(xs) * 1000:.1f} ms"
    print(f"{'command':<26} {'before: median / min':<24} after: median / min")
    for name, command in commands.items():
        before, after = [], []
        for _ in range(options.runs):
            before.append(once(command(options.before)))
            after.append(once(command(options.after)))
        print(f"{name:<26} {ms(before):<24} {ms(after)}")
    export = commands["export -o"]
    print(f"export peak RSS: before {peak_rss_kb(export(options.before)) / 1024:.1f} MB, "
          f"after {peak_rss_kb(export(options.after)) / 1024:.1f} MB")


if __name__ == "__main__":
    main()
