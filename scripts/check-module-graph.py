#!/usr/bin/env python3
"""Keep the package's module graph true.

Package.swift says which modules each target may use; the compiler does not
hold us to it (a module reachable through another dependency imports fine),
and nothing stops a layer from reaching into one it must not know about.
This script reads `swift package dump-package` and every target's .swift
files, and fails CI when:
  A. a target imports a module it does not declare as a direct dependency,
  B. a target declares a dependency it never imports,
  C. a target imports across a forbidden layer boundary (table below),
  D. README.md's module table ("Knows") differs from a target's egglogu dependencies.

Usage: check-module-graph.py [PACKAGE_ROOT]   (default: the repo root)
       check-module-graph.py --self-test      (prove each rule still fires)
"""
import json
import os
import re
import subprocess
import sys
from fnmatch import fnmatch

SYSTEM = {"Foundation", "FoundationEssentials", "Dispatch", "Glibc", "Musl", "Darwin", "Synchronization",
          "Testing", "XCTest", "_Concurrency", "os", "Android", "WinSDK", "CoreFoundation"}
# Product name -> module names, where they differ. (swift-crypto 4's product
# "CryptoExtras" is module CryptoExtras; "_CryptoExtras" is its legacy twin.)
PRODUCT_MODULES = {"GRDB-dynamic": {"GRDB"}}

TRANSPORTS = ["EggloguMQTT", "EggloguHTTP", "EggloguSyncClient"]
NETWORK = ["CMosquitto", "NIO*", "Hummingbird*", "AsyncHTTPClient"]
# (layer, members, forbidden module patterns, allow-list or None). With an
# allow-list, anything outside it and SYSTEM is forbidden.
LAYERS = [
    ("core", {"EggloguJSON"}, [], {"Crypto"}),
    ("core", {"EggloguCore"}, [], {"EggloguJSON", "Crypto"}),
    ("store", {"EggloguStore"}, TRANSPORTS + NETWORK, None),
    ("store", {"EggloguPostgres"}, TRANSPORTS + ["CMosquitto", "Hummingbird*", "AsyncHTTPClient", "EggloguServer", "GRDB"], None),
    ("transport", set(TRANSPORTS), ["EggloguCore", "EggloguStore", "GRDB"], None),
    ("protocol", {"EggloguProtocol"}, ["EggloguStore", "GRDB"] + TRANSPORTS, None),
]

IMPORT_RE = re.compile(
    r"^\s*(?:@\w+(?:\([^)]*\))?\s+)*(?:(?:public|package|internal|fileprivate|private)\s+)?import\s+"
    r"(?:(?:typealias|struct|class|enum|protocol|let|var|func|actor)\s+)?([A-Za-z_]\w*)", re.M)
OPEN_QUOTE_RE = re.compile(r'(#*)("""|")')


def strip_code(text):
    """Drop comments (nested /* */ too) and string literals, keeping line breaks."""
    out, i, n = [], 0, len(text)
    while i < n:
        start, quote = i, OPEN_QUOTE_RE.match(text, i) if text[i] in '#"' else None
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                step = text[i:i + 2]
                depth += (step == "/*") - (step == "*/")
                i += 2 if step in ("/*", "*/") else 1
        elif quote:
            close, i = quote.group(2) + quote.group(1), quote.end()
            while i < n and not text.startswith(close, i):
                i += 2 if text[i] == "\\" and not quote.group(1) else 1
            i += len(close)
        else:
            out.append(text[i])
            i += 1
            continue
        out.append("\n" * text.count("\n", start, i))
    return "".join(out)


def imports_in(text):
    return IMPORT_RE.findall(strip_code(text))


def module_of(name):
    return name.replace("-", "_")


def rule_declared(name, t):
    return [f"{name} imports {m} but does not declare it"
            for m in sorted(t["imports"]) if m not in SYSTEM and m != module_of(name)
            and not any(m in mods for mods, _ in t["deps"].values())]


def rule_unused(name, t):
    return [f"{name} declares {dep} but never imports it"
            for dep, (mods, kind) in sorted(t["deps"].items())
            if not (t["type"] == "test" and kind == "executable") and not mods & set(t["imports"])]


def rule_layers(name, t):
    out = []
    for layer, members, forbidden, allowed in LAYERS:
        if name not in members:
            continue
        for m in sorted(t["imports"]):
            if (allowed is not None and m not in allowed | SYSTEM and m != module_of(name)) \
                    or any(fnmatch(m, p) for p in forbidden):
                out.append(f"{name} ({layer}) must not import {m}")
    return out


RULES = [rule_declared, rule_unused, rule_layers]


def load(root):
    swift = os.environ.get("SWIFT", "swift")
    try:
        proc = subprocess.run([swift, "package", "dump-package"], cwd=root, capture_output=True, text=True)
    except OSError as e:
        print(f"check-module-graph: cannot run `{swift} package dump-package`: {e}", file=sys.stderr)
        sys.exit(2)
    if proc.returncode != 0:
        print(f"check-module-graph: `swift package dump-package` failed in {root} "
              f"(exit {proc.returncode}):\n{proc.stderr.strip()}", file=sys.stderr)
        sys.exit(2)
    return json.loads(proc.stdout)


def collect(root, package):
    """Return ({target: {type, deps: {dep: (modules, kind)}, imports: {module: [files]}}}, problems)."""
    kinds = {t["name"]: t["type"] for t in package["targets"]}
    targets, problems = {}, []
    for t in package["targets"]:
        if t["type"] not in ("regular", "executable", "test"):
            continue
        deps = {}
        for d in t.get("dependencies", []):
            kind, (dep, *_) = next(iter(d.items()))
            if kind in ("target", "byName") and dep in kinds:
                deps[dep] = ({module_of(dep)}, kinds[dep])
            else:
                deps[dep] = (PRODUCT_MODULES.get(dep, {module_of(dep)}), "product")
        rel = t.get("path") or os.path.join("Tests" if t["type"] == "test" else "Sources", t["name"])
        src = os.path.join(root, rel)
        excluded = [os.path.normpath(os.path.join(src, e)) for e in t.get("exclude", [])]
        if not os.path.isdir(src):
            problems.append(f"{t['name']}: source directory {rel} not found")
        imports = {}
        for dirpath, _, files in os.walk(src):
            for f in sorted(files):
                path = os.path.join(dirpath, f)
                if not f.endswith(".swift") or any(path == e or path.startswith(e + os.sep) for e in excluded):
                    continue
                with open(path, encoding="utf-8") as fh:
                    for m in imports_in(fh.read()):
                        imports.setdefault(m, []).append(os.path.relpath(path, root))
        targets[t["name"]] = {"type": t["type"], "deps": deps, "imports": imports}
    return targets, problems


TABLE_ROW = re.compile(r"^\|\s*`([^`]+)`\s*\|\s*([^|]*?)\s*\|[^|]*\|\s*([^|]*?)\s*\|\s*$", re.M)


def own(dep):
    """A dependency as the README names it: egglogu targets without their prefix."""
    return dep[len("Egglogu"):] if dep.startswith("Egglogu") else dep


def rule_readme(readme, package):
    """Every target in the table lists exactly its egglogu dependencies; every source target is listed."""
    kinds = {t["name"]: t for t in package["targets"]}
    listed, out = set(), []
    for folder, module, knows in TABLE_ROW.findall(readme):
        if module not in kinds:
            continue
        listed.add(module)
        deps = set()
        for d in kinds[module].get("dependencies", []):
            kind, (dep, *_) = next(iter(d.items()))
            if kind in ("target", "byName") and dep in kinds:
                deps.add(own(dep))
        said = set() if knows in ("", "nothing") else {k.strip() for k in knows.split(",")}
        if said != deps:
            out.append(f"README.md: {module} knows {', '.join(sorted(deps)) or 'nothing'}, "
                       f"the table says {', '.join(sorted(said)) or 'nothing'}")
    for name, t in kinds.items():
        if t["type"] in ("regular", "executable", "system") and name not in listed:
            out.append(f"README.md: the module table does not list {name}")
    return out


def check(targets):
    return [v for name, t in targets.items() for rule in RULES for v in rule(name, t)]


def self_test():
    src = ('import Foundation\n@testable import EggloguCore\n@_exported import struct EggloguJSON.JSON\n'
           'public import enum GRDB.Database\n/* import Nope /* nested */ import Nope2 */\n// import Nope3\n'
           'let s = """\n    import Nope4\n    """\nlet r = #"a \\" import Nope5"#\n#if canImport(Glibc)\nimport Glibc\n#endif\n')
    got = imports_in(src)
    failures = [] if got == ["Foundation", "EggloguCore", "EggloguJSON", "GRDB", "Glibc"] else [f"scanner: {got}"]
    dep = lambda *ms, kind="regular": ({*ms}, kind)
    cases = {  # target -> (description, expected violations)
        "EggloguCore": ({"type": "regular", "deps": {"EggloguJSON": dep("EggloguJSON"), "Crypto": dep("Crypto", kind="product")},
                         "imports": {"Foundation": [], "EggloguJSON": [], "Crypto": []}}, []),
        "EggloguStore": ({"type": "regular", "deps": {"GRDB": dep("GRDB", kind="product"), "EggloguMQTT": dep("EggloguMQTT")},
                          "imports": {"GRDB": [], "EggloguMQTT": [], "NIOCore": []}},
                         ["EggloguStore imports NIOCore but does not declare it",
                          "EggloguStore (store) must not import EggloguMQTT", "EggloguStore (store) must not import NIOCore"]),
        "EggloguJSON": ({"type": "regular", "deps": {"Logging": dep("Logging", kind="product")}, "imports": {}},
                        ["EggloguJSON declares Logging but never imports it"]),
        "EggloguCoreTests": ({"type": "test", "deps": {"egglogu-agent": dep("egglogu_agent", kind="executable")},
                              "imports": {"Testing": []}}, []),
    }
    for name, (t, want) in cases.items():
        got = check({name: t})
        if sorted(got) != sorted(want):
            failures.append(f"{name}: expected {want}, got {got}")
    package = {"targets": [{"name": "EggloguCore", "type": "regular", "dependencies": [{"byName": ["EggloguJSON", None]}]},
                           {"name": "EggloguJSON", "type": "regular", "dependencies": []}]}
    readme = "| `Sources/EggloguCore` | EggloguCore | x | nothing |\n"
    if rule_readme(readme, package) != ["README.md: EggloguCore knows JSON, the table says nothing",
                                        "README.md: the module table does not list EggloguJSON"]:
        failures.append(f"readme: {rule_readme(readme, package)}")
    for layer, members, _, _ in LAYERS:  # every row of the layer table must bite
        name = sorted(members)[0]
        if not rule_layers(name, {"imports": {"GRDB": [], "NIOCore": []}}):
            failures.append(f"layer {layer}: {name} importing GRDB and NIOCore was not flagged")
    for f in failures:
        print(f"self-test FAILED: {f}")
    print("self-test: ok" if not failures else f"self-test: {len(failures)} failure(s)")
    return 1 if failures else 0


def main(argv):
    if argv[1:] == ["--self-test"]:
        return self_test()
    root = os.path.abspath(argv[1] if len(argv) > 1 else os.path.join(os.path.dirname(__file__), ".."))
    package = load(root)
    targets, violations = collect(root, package)
    violations += check(targets)
    with open(os.path.join(root, "README.md"), encoding="utf-8") as fh:
        violations += rule_readme(fh.read(), package)
    for v in violations:
        print(v)
    if violations:
        return 1
    n = sum(len(files) for t in targets.values() for files in t["imports"].values())
    print(f"module graph: {len(targets)} targets, {n} imports checked, ok")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
