import ArgumentParser
import EggloguFixtures
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The agent inside a ``PiCgroup`` (a quarter of a core, 256 MB): import, initial sync, propagation
/// and idle cost, each beside the same work unconfined in the same run.
struct PiBenchmarks {
    let work: String
    let products: URL

    private func binary(_ name: String) -> String { products.appendingPathComponent(name).path }

    func run(into figures: inout Figures, size: FarmSize, edits: Int, idleSettle: Double, idleSeconds: Double) async throws {
        let group: PiCgroup
        do {
            group = try PiCgroup.make(name: "egglogu-bench-\(getpid())")
        } catch {
            // A host without writable cgroups (not root, a container) cannot run this; it says so.
            figures.line("pi: skipped", "\(error)")
            return
        }
        defer { group.remove() }
        figures.line("pi: the budget", "cgroup \(group.version): 25 ms of CPU per 100 ms, 256 MB")
        let agent = binary("egglogu-agent")
        let farm = work + "/farm.json"
        try Data(FarmGenerator(size: size).bytes()).write(to: URL(fileURLWithPath: farm))
        let farmName = SyncBenchmarks.name(of: size)

        func both(_ arguments: (String) throws -> [String]) throws -> (inside: ChildProcess.Result, outside: ChildProcess.Result) {
            let outside = try ChildProcess.run(agent, try arguments("out"))
            let (shell, confined) = group.confine(agent, try arguments("in"))
            let inside = try ChildProcess.run(shell, confined)
            guard outside.status == 0, inside.status == 0 else {
                throw BenchError("\(try arguments("in").first ?? "") exited \(inside.status) confined, \(outside.status) not")
            }
            return (inside, outside)
        }
        let imports = try both { ["import", "--replica", "\(work)/import-\($0).sqlite", farm] }
        figures.line("pi: import of \(farmName) (whole process)", Self.compare(imports))

        let data = work + "/server-data"
        let server = try ServerProcess.start(binary: binary("egglogu-sync-server"), dataDir: data, log: work + "/server.log")
        defer { server.stop() }
        func syncArguments(_ device: String) throws -> [String] {
            let file = "\(work)/\(device).token"
            try output(of: binary("egglogu-sync-server"), ["token", "--data-dir", data, "--farm", "pi", "--device", device])
                .write(toFile: file, atomically: true, encoding: .utf8)
            chmod(file, 0o600)
            return [
                "sync", "--replica", "\(work)/\(device).sqlite", "--device-id", device, "--farm-id", "pi", "--server-url", server.url,
                "--token-file", file,
            ]
        }
        let imported = try ChildProcess.run(agent, ["import", "--replica", "\(work)/gw-a.sqlite", "--device-id", "gw-a", "--farm-id", "pi", farm])
        let pushed = try ChildProcess.run(agent, try syncArguments("gw-a"))
        guard imported.status == 0, pushed.status == 0 else { throw BenchError("the first push failed") }
        let initial = try both { try syncArguments("gw-\($0)") }
        figures.line("pi: initial sync of \(farmName) into an empty replica", Self.compare(initial))

        let realtime = work + "/realtime"
        try FileManager.default.createDirectory(atPath: realtime, withIntermediateDirectories: true)
        try await RealtimeBenchmarks(work: realtime, products: products).run(
            into: &figures,
            edits: edits,
            idleSettle: idleSettle,
            idleSeconds: idleSeconds,
            idleAgent: nil,
            confinement: (label: "pi", confine: group.confine)
        )
        if group.hitMemoryLimit() { figures.line("pi: the memory limit", "reached: a process was refused memory") }
    }

    private static func compare(_ runs: (inside: ChildProcess.Result, outside: ChildProcess.Result)) -> String {
        String(
            format: "%.3f s, peak RSS %.1f MB (unconfined: %.3f s, %.1f MB)",
            runs.inside.seconds,
            Double(runs.inside.peakRSSBytes) / 1_048_576,
            runs.outside.seconds,
            Double(runs.outside.peakRSSBytes) / 1_048_576
        )
    }
}

extension EggloguBench {
    struct Pi: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Measure the agent inside a cgroup of a quarter of a core and 256 MB, a Raspberry Pi stand-in (root)."
        )

        @Option(help: "Edits to time for propagation.")
        var edits = 200

        @Option(name: .customLong("idle-seconds"), help: "How long to watch the confined idle agent.")
        var idleSeconds = 600.0

        @Flag(help: "A small farm, 10 edits, a 2 s idle watch: checks that the benchmark runs.")
        var quick = false

        func run() async throws {
            try await measuring("pi") { work, products, figures in
                try await PiBenchmarks(work: work, products: products).run(
                    into: &figures,
                    size: quick ? .small : .large,
                    edits: quick ? 10 : edits,
                    idleSettle: quick ? 1 : 15,
                    idleSeconds: quick ? 2 : idleSeconds
                )
            }
        }
    }
}
