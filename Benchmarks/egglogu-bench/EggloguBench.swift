import ArgumentParser
import EggloguCore
import EggloguFixtures
import EggloguJSON
import EggloguStore
import Foundation

@main
struct EggloguBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "egglogu-bench",
        abstract: "Benchmarks and fixtures for egglogu-sync. Build with -c release before measuring.",
        subcommands: [
            Run.self, Sync.self, Legacy.self, Realtime.self, Fanout.self, Page.self, Farms.self, Load.self, Pi.self, Generate.self,
            HighFilesCheck.self,
        ],
        defaultSubcommand: Run.self
    )
}

extension EggloguBench {
    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write a generated farm blob.")

        @Option(help: "small, large, or a number of dailyProduction records.")
        var size = "large"

        @Option(help: "Seed: the same seed gives the same farm.")
        var seed: UInt64 = 1

        @Option(name: [.short, .long], help: "Output file (default: standard output).")
        var output: String?

        func run() throws {
            let size: FarmSize
            switch self.size {
            case "small": size = .small
            case "large": size = .large
            default:
                guard let n = Int(self.size), n > 0 else { throw ValidationError("--size is small, large or a count") }
                size = .scaled(dailyProduction: n)
            }
            let bytes = FarmGenerator(size: size, seed: seed).bytes()
            if let output {
                try Data(bytes).write(to: URL(fileURLWithPath: output))
            } else {
                FileHandle.standardOutput.write(Data(bytes))
            }
        }
    }

    struct Sync: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Measure delta sync against a real server: edit size, initial sync, latency under load."
        )

        @Option(help: "Concurrent devices in the load test.")
        var devices = 50

        @Option(name: .customLong("requests"), help: "Pushes per device in the load test.")
        var requests = 40

        @Flag(help: "A small farm, one initial sync, 4 devices with 3 pushes each: checks that the benchmark runs.")
        var quick = false

        @Option(name: .customLong("static-agent"), help: "Also time the initial sync with this egglogu-agent (a --static-swift-stdlib build).")
        var staticAgent: String?

        func run() async throws {
            try await measuring("sync") { work, products, figures in
                try await SyncBenchmarks(work: work, products: products).run(
                    into: &figures,
                    size: quick ? .small : .large,
                    initialSyncs: quick ? 1 : 3,
                    devices: quick ? 4 : devices,
                    requestsPerDevice: quick ? 3 : requests,
                    staticAgent: staticAgent.map { URL(fileURLWithPath: $0).path }
                )
            }
        }
    }

    struct Legacy: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Measure the app's web client against a real server: first push, login pull, one edit."
        )

        @Option(help: "Login pulls to time.")
        var pulls = 5

        @Flag(help: "A small farm and one pull: checks that the benchmark runs.")
        var quick = false

        func run() async throws {
            try await measuring("legacy") { work, products, figures in
                try await LegacyBenchmarks(work: work, products: products)
                    .run(into: &figures, size: quick ? .small : .large, pulls: quick ? 1 : pulls)
            }
        }
    }

    struct Realtime: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Measure propagation between two agent services over MQTT, and an idle agent's cost."
        )

        @Option(help: "Edits to time.")
        var edits = 200

        @Option(name: .customLong("idle-seconds"), help: "How long to watch the idle agent.")
        var idleSeconds = 600.0

        @Option(name: .customLong("idle-agent"), help: "The egglogu-agent binary to watch idle (default: the one next to this).")
        var idleAgent: String?

        @Flag(help: "10 edits and a 2 s idle watch after 1 s of settling: checks that the benchmark runs.")
        var quick = false

        @Flag(name: .customLong("busy-arrival"), help: "See arrivals by reading B's replica every 50 µs (the older way, which takes a core).")
        var busyArrival = false

        func run() async throws {
            try await measuring("rt") { work, products, figures in
                try await RealtimeBenchmarks(work: work, products: products, busyArrival: busyArrival).run(
                    into: &figures,
                    edits: quick ? 10 : edits,
                    idleSettle: quick ? 1 : 15,
                    idleSeconds: quick ? 2 : idleSeconds,
                    idleAgent: idleAgent
                )
            }
        }
    }

    struct Fanout: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Measure what an edit costs the server with many devices of one farm: pulls, CPU, propagation."
        )

        @Option(help: "Device counts to measure, comma-separated.")
        var devices = "10,50"

        @Option(help: "Edits per device count.")
        var edits = 100

        @Option(help: "Also run on PostgreSQL: a postgres:// URL of an empty database, or 'private' for a cluster of its own.")
        var database: String?

        @Flag(help: "3 devices and 5 edits: checks that the benchmark runs.")
        var quick = false

        func run() async throws {
            let counts = quick ? [3] : devices.split(separator: ",").compactMap { Int($0) }.filter { $0 >= 2 }
            guard !counts.isEmpty else { throw ValidationError("--devices needs counts of at least 2, e.g. 10,50") }
            let stores = [BenchDatabase.sqlite] + (database.map { [BenchDatabase.named($0)] } ?? [])
            try await measuring("fan") { work, products, figures in
                for store in stores {
                    try await FanoutBenchmarks(work: work, products: products, store: store)
                        .run(into: &figures, devices: counts, edits: quick ? 5 : edits)
                }
            }
        }
    }

    struct Page: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Measure the status page's API over a large farm with conflicts, and what it adds to an idle agent."
        )

        @Option(help: "Delete-vs-edit conflicts (and deleted records) in the farm.")
        var conflicts = 500

        @Option(help: "Requests per endpoint.")
        var requests = 200

        @Option(name: .customLong("rss-seconds"), help: "How long each idle agent settles before its RSS is read (0: skip).")
        var rssSeconds = 20.0

        @Option(help: "The egglogu-agent binary for the RSS figures (default: the one next to this).")
        var agent: String?

        @Flag(help: "A small farm, 20 conflicts, 5 requests each, no RSS figures: checks that the benchmark runs.")
        var quick = false

        func run() async throws {
            try await measuring("page") { work, products, figures in
                try await PageBenchmarks(work: work, products: products)
                    .run(
                        into: &figures,
                        size: quick ? .small : .large,
                        conflicts: quick ? 20 : conflicts,
                        requests: quick ? 5 : requests,
                        rssSeconds: quick ? 0 : rssSeconds,
                        agent: agent.map { URL(fileURLWithPath: $0).path }
                    )
            }
        }
    }

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Measure import, export and merge; print the figures.")

        @Option(help: "Repetitions per measurement (the median is reported).")
        var repeats = 5

        @Option(name: .customLong("merge-records"), help: "Remote records to merge.")
        var mergeRecords = 100_000

        @Option(name: .customLong("page-size"), help: "Remote records per merge transaction.")
        var pageSize = 1_000

        @Flag(help: "The small farm once and 2,000 records to merge: checks that the benchmark runs.")
        var quick = false

        @Option(name: .customLong("static-agent"), help: "Also time import and export with this egglogu-agent (a --static-swift-stdlib build).")
        var staticAgent: String?

        func run() async throws {
            let repeats = quick ? 1 : self.repeats
            let mergeRecords = quick ? 2_000 : self.mergeRecords
            let pageSize = quick ? 500 : self.pageSize
            let farmName = quick ? "small farm" : "large farm"
            let work = FileManager.default.temporaryDirectory.appendingPathComponent("egglogu-bench-\(getpid())").path
            try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: work) }
            let agent = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
                .appendingPathComponent("egglogu-agent").path
            guard FileManager.default.isExecutableFile(atPath: agent) else {
                throw BenchError("egglogu-agent is not built next to egglogu-bench (\(agent))")
            }
            let blob = FarmGenerator(size: quick ? .small : .large).bytes()
            let farm = work + "/large-farm.json"
            try Data(blob).write(to: URL(fileURLWithPath: farm))
            print(
                "\(farmName): \(String(format: "%.2f", Double(blob.count) / 1_048_576)) MB, "
                    + "\(try JSONParser().parse(blob).objectValue!.count) top-level keys"
            )
            var report = Figures()

            func importAndExport(with agent: String, label: String) throws {
                var importRuns: [ChildProcess.Result] = []
                var exportRuns: [ChildProcess.Result] = []
                for n in 0..<repeats {
                    let replica = "\(work)/import-\(label.isEmpty ? "default" : "static")-\(n).sqlite"
                    let result = try ChildProcess.run(agent, ["import", "--replica", replica, farm])
                    guard result.status == 0 else { throw BenchError("import exited \(result.status)") }
                    importRuns.append(result)
                    let export = try ChildProcess.run(agent, ["export", "--replica", replica, "-o", "\(work)/export-\(n).json"])
                    guard export.status == 0 else { throw BenchError("export exited \(export.status)") }
                    exportRuns.append(export)
                }
                report.add("import, \(farmName) (egglogu-agent import, whole process\(label))", importRuns)
                report.add("export, \(farmName) (egglogu-agent export -o, whole process\(label))", exportRuns)
            }
            try importAndExport(with: agent, label: "")
            if let staticAgent {
                try importAndExport(with: URL(fileURLWithPath: staticAgent).path, label: ", static build")
            }

            let inProcess = try await measure(repeats) { n in
                let replica = try await Replica.open(path: "\(work)/lib-\(n).sqlite")
                let start = DispatchTime.now()
                _ = try await replica.importBlob(blob)
                return DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds
            }
            report.addTimes("import, \(farmName) (library call, parse included)", inProcess)
            let exports = try await measure(repeats) { n in
                let replica = try await Replica.open(path: "\(work)/lib-\(n).sqlite")
                let start = DispatchTime.now()
                _ = try await replica.exportBlob()
                return DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds
            }
            report.addTimes("export, \(farmName) (library call)", exports)

            let pages = Self.remotePages(records: mergeRecords, pageSize: pageSize)
            let merge = try await measure(max(1, repeats / 2)) { n in
                try await mergeRemote(into: "\(work)/merge-\(n).sqlite", pages: pages)
            }
            let grdb = try await measure(max(1, repeats / 2)) { n in
                try await MergeFloors.grdb(pages: pages, collection: "dailyProduction", path: "\(work)/grdb-floor-\(n).sqlite")
            }
            let python = try await MergeFloors.python(pages: pages, collection: "dailyProduction", work: work)
            let rate = { (nanos: [UInt64]) in Double(mergeRecords) / (Double(nanos.sorted()[nanos.count / 2]) / 1e9) }
            report.line(
                "merge \(mergeRecords) remote records in pages of \(pageSize) (JSON parse included)",
                String(format: "%.0f records/s, %.0f%% of the GRDB floor", rate(merge), 100 * rate(merge) / rate(grdb))
            )
            report.line("  floor: the same lookups and upserts with GRDB alone (no JSON work)", String(format: "%.0f records/s", rate(grdb)))
            report.line(
                "  floor: a naive Python sqlite3 pipeline (json.loads, lookup, INSERT OR REPLACE)",
                python.map { String(format: "%.0f records/s", rate([$0])) } ?? "skipped: no /usr/bin/python3"
            )
            report.print()
        }

        private func measure(_ times: Int, _ body: (Int) async throws -> UInt64) async throws -> [UInt64] {
            var out: [UInt64] = []
            for n in 0..<times { out.append(try await body(n)) }
            return out
        }

        /// `records` remote versions from another device, as pages of JSON arrays.
        static func remotePages(records: Int, pageSize: Int) -> [[UInt8]] {
            let origin = "dev-remote"
            let base = Timestamp(milliseconds: 1_750_000_000_000)
            var pages: [[UInt8]] = []
            var page: [JSONValue] = []
            for n in 0..<records {
                let stamp = base.adding(milliseconds: Int64(n))
                let content = JSONObject([
                    ("id", .string("r\(n)")), ("date", "2026-03-01"), ("flockId", "mm897apbujzde"),
                    ("eggsCollected", .number(JSONNumber(4_000 + n % 900))), ("eggsBroken", 12), ("shellColor", "blanco"),
                    ("notes", ""),
                ])
                let version = RecordVersion(
                    id: "r\(n)",
                    content: content,
                    updatedAt: stamp,
                    origin: origin,
                    vector: VersionVector([origin: stamp])
                )
                page.append(.object(version.record))
                if page.count == pageSize || n == records - 1 {
                    pages.append(JSONValue.array(page).serialized())
                    page = []
                }
            }
            return pages
        }

        /// Merges `pages` into a new replica, parsing each as it goes.
        private func mergeRemote(into path: String, pages: [[UInt8]]) async throws -> UInt64 {
            let replica = try await Replica.open(path: path)
            let start = DispatchTime.now()
            for bytes in pages {
                guard case .array(let values) = try JSONParser().parse(bytes) else { throw BenchError("bad page") }
                let report = try await replica.merge([("dailyProduction", values)])
                guard report.rejected.isEmpty else { throw BenchError("merge rejected records") }
            }
            return DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds
        }
    }
}

/// Collects figures and prints them as a table.
/// Runs a benchmark in a work directory of its own under the temporary directory, with the
/// products (the binaries beside this one): prints its figures and removes the directory when it
/// succeeds (unless `EGGLOGU_BENCH_KEEP` is set), and says where the logs are when it fails.
func measuring(_ name: String, _ body: (_ work: String, _ products: URL, _ figures: inout Figures) async throws -> Void) async throws {
    let work = FileManager.default.temporaryDirectory.appendingPathComponent("egglogu-bench-\(name)-\(getpid())").path
    try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
    var figures = Figures()
    do {
        try await body(work, URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent(), &figures)
    } catch {
        print("failed; the logs are in \(work)")
        throw error
    }
    if ProcessInfo.processInfo.environment["EGGLOGU_BENCH_KEEP"] == nil {
        try? FileManager.default.removeItem(atPath: work)
    } else {
        print("kept \(work)")
    }
    figures.print()
}

struct Figures {
    private var rows: [(String, String)] = []

    mutating func line(_ name: String, _ value: String) {
        rows.append((name, value))
    }

    mutating func add(_ name: String, _ runs: [ChildProcess.Result]) {
        let times = runs.map(\.seconds).sorted()
        let peak = runs.map(\.peakRSSBytes).max() ?? 0
        line(
            name,
            String(
                format: "median %.3f s (min %.3f, max %.3f), peak RSS %.1f MB",
                times[times.count / 2],
                times.first!,
                times.last!,
                Double(peak) / 1_048_576
            )
        )
    }

    mutating func addTimes(_ name: String, _ nanos: [UInt64]) {
        let s = nanos.map { Double($0) / 1e9 }.sorted()
        line(name, String(format: "median %.3f s (min %.3f, max %.3f)", s[s.count / 2], s.first!, s.last!))
    }

    func print() {
        let width = rows.map(\.0.count).max() ?? 0
        for (name, value) in rows {
            Swift.print(name.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + value)
        }
    }
}
