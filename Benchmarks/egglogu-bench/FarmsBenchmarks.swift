import ArgumentParser
import AsyncHTTPClient
import EggloguCore
import EggloguFixtures
import EggloguJSON
import EggloguProtocol
import Foundation
import NIOCore
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

extension EggloguBench {
    struct Farms: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Measure one server with many farms: RSS, open files and push latency, bounded against unbounded stores."
        )

        @Option(help: "Farms to create.")
        var farms = 10_000

        @Option(name: .customLong("large-farms"), help: "Farms that get many records.")
        var largeFarms = 3

        @Option(name: .customLong("large-records"), help: "Records in each large farm.")
        var largeRecords = 20_000

        @Option(help: "Pushes to random farms to time.")
        var pushes = 2_000

        @Option(help: "Requests in flight at once.")
        var concurrency = 16

        @Option(name: .customLong("max-open-farms"), help: "The server's bound on open farm stores.")
        var maxOpenFarms = 512

        @Option(name: .customLong("baseline-farms"), help: "Farms for the unbounded baseline (each keeps about 5 files open).")
        var baselineFarms = 2_000

        @Flag(help: "300 farms, a bound of 64 and 200 pushes: checks that the benchmark runs.")
        var quick = false

        @Option(
            help:
                "Also run on PostgreSQL (instead of the unbounded baseline): a postgres:// URL of an empty database, or 'private' for a cluster of its own."
        )
        var database: String?

        func run() async throws {
            var plan = FarmsBenchmarks.Plan(
                farms: farms,
                largeFarms: largeFarms,
                largeRecords: largeRecords,
                pushes: pushes,
                concurrency: concurrency,
                maxOpenFarms: maxOpenFarms,
                baselineFarms: baselineFarms
            )
            if quick {
                plan = .init(farms: 300, largeFarms: 1, largeRecords: 1_000, pushes: 200, concurrency: 8, maxOpenFarms: 64, baselineFarms: 100)
            }
            let postgres = database.map { BenchDatabase.named($0) }
            try await measuring("farms") { work, products, figures in
                try await FarmsBenchmarks(work: work, products: products).run(plan, postgres: postgres, into: &figures)
            }
        }
    }
}

/// Many farms on one server: its memory and open files once every farm exists, and the latency of
/// pushes to random farms, with the bounded farm stores against the unbounded baseline.
struct FarmsBenchmarks {
    let work: String
    let products: URL
    var serverBinary: String { products.appendingPathComponent("egglogu-sync-server").path }

    struct Plan {
        var farms: Int
        var largeFarms: Int
        var largeRecords: Int
        var pushes: Int
        var concurrency: Int
        var maxOpenFarms: Int
        /// Farms the unbounded baseline creates (it runs out of files well before 10,000).
        var baselineFarms: Int
    }

    /// Farms one device's token grants.
    private static let farmsPerToken = 200

    func run(_ plan: Plan, postgres: BenchDatabase?, into figures: inout Figures) async throws {
        // The unbounded baseline keeps about 5 files open per farm: lift the soft limit to the hard
        // one, which the servers started here inherit.
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max
            _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        }
        figures.line("farms: setup", "\(plan.farms) farms (\(plan.largeFarms) of \(plan.largeRecords) records), \(plan.concurrency) at once")
        let bounded = try await measure(
            label: "bounded (--max-open-farms \(plan.maxOpenFarms))",
            farms: plan.farms,
            plan: plan,
            maxOpenFarms: plan.maxOpenFarms
        )
        bounded.report(into: &figures)
        if let postgres {
            try await measure(label: "postgres (\(postgres.name))", farms: plan.farms, plan: plan, maxOpenFarms: plan.maxOpenFarms, store: postgres)
                .report(into: &figures)
            return
        }
        let baseline = try await measure(
            label: "baseline, unbounded (every farm stays open)",
            farms: plan.baselineFarms,
            plan: plan,
            maxOpenFarms: 100_000
        )
        baseline.report(into: &figures)
        figures.line(
            "farms: per farm, bounded vs baseline",
            String(
                format: "%.1f KB vs %.1f KB RSS, %.2f vs %.2f files",
                (bounded.rss - bounded.idleRSS) * 1024 / Double(bounded.farms),
                (baseline.rss - baseline.idleRSS) * 1024 / Double(baseline.farms),
                Double(bounded.files - bounded.idleFiles) / Double(bounded.farms),
                Double(baseline.files - baseline.idleFiles) / Double(baseline.farms)
            )
        )
    }

    private struct Measurement {
        let label: String
        let farms: Int
        let idleRSS: Double
        let idleFiles: Int
        let rss: Double
        let peakRSS: Double
        let files: Int
        let createSeconds: Double
        let latencies: [Double]
        let pushSeconds: Double

        func report(into figures: inout Figures) {
            let sorted = latencies.sorted()
            func percentile(_ p: Double) -> Double { sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] }
            figures.line(
                "farms: \(label): created \(farms) farms",
                String(format: "%.1f s, %.0f farms/s", createSeconds, Double(farms) / createSeconds)
            )
            figures.line(
                "farms: \(label): server after",
                String(format: "RSS %.1f MB (peak %.1f, idle %.1f), %d open files (idle %d)", rss, peakRSS, idleRSS, files, idleFiles)
            )
            figures.line(
                "farms: \(label): \(sorted.count) pushes to random farms",
                String(
                    format: "p50 %.1f ms, p99 %.1f ms, max %.1f ms, %.0f pushes/s",
                    percentile(0.5),
                    percentile(0.99),
                    sorted.last ?? 0,
                    Double(sorted.count) / pushSeconds
                )
            )
        }
    }

    private func measure(label: String, farms: Int, plan: Plan, maxOpenFarms: Int, store: BenchDatabase = .sqlite) async throws -> Measurement {
        let data = "\(work)/data-\(maxOpenFarms)-\(store.name)"
        let store = try store.fresh()
        let server = try ServerProcess.start(
            binary: serverBinary,
            dataDir: data,
            log: "\(work)/server-\(maxOpenFarms)-\(store.name).log",
            arguments: ["--max-open-farms", String(maxOpenFarms)] + store.arguments
        )
        defer { server.stop() }
        let idle = (server.memory().resident, server.openFiles())
        let names = (0..<farms).map { "farm-\($0)" }
        var tokens: [String] = []
        for start in stride(from: 0, to: farms, by: Self.farmsPerToken) {
            let granted = names[start..<min(farms, start + Self.farmsPerToken)].flatMap { ["--farm", $0] }
            tokens.append(
                try output(
                    of: serverBinary,
                    ["token", "--data-dir", data, "--device", "bench-\(start / Self.farmsPerToken)"] + granted + store.arguments
                )
            )
        }
        let client = Pusher(url: server.url, tokens: tokens, farmsPerToken: Self.farmsPerToken, concurrency: plan.concurrency)
        defer { client.shutdown() }

        let created = DispatchTime.now()
        _ = try await client.push(to: Array(0..<farms), records: 1)
        for farm in 0..<min(plan.largeFarms, farms) {
            for _ in 0..<(plan.largeRecords / 500) { _ = try await client.push(to: [farm], records: 500) }
        }
        let createSeconds = seconds(since: created)

        var random = FixtureRandom(seed: 42)
        let targets = (0..<plan.pushes).map { _ in Int.random(in: 0..<farms, using: &random) }
        let pushed = DispatchTime.now()
        let latencies = try await client.push(to: targets, records: 1)
        let pushSeconds = seconds(since: pushed)
        let memory = server.memory()
        return Measurement(
            label: label,
            farms: farms,
            idleRSS: idle.0,
            idleFiles: idle.1,
            rss: memory.resident,
            peakRSS: memory.peak,
            files: server.openFiles(),
            createSeconds: createSeconds,
            latencies: latencies,
            pushSeconds: pushSeconds
        )
    }

    private func seconds(since start: DispatchTime) -> Double {
        Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    }
}

/// Pushes small records to farms by number, `concurrency` requests at a time, following each
/// farm's cursor so an answer carries only what changed since the last push.
private final class Pusher: Sendable {
    let url: String
    let tokens: [String]
    let farmsPerToken: Int
    let concurrency: Int
    let client: HTTPClient
    private let cursors = Mutex<[Int: String]>([:])
    private let sequence = Counter()

    init(url: String, tokens: [String], farmsPerToken: Int, concurrency: Int) {
        self.url = url
        self.tokens = tokens
        self.farmsPerToken = farmsPerToken
        self.concurrency = concurrency
        self.client = HTTPClient(
            eventLoopGroupProvider: .singleton,
            configuration: .init(connectionPool: .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: concurrency))
        )
    }

    func shutdown() { try? client.syncShutdown() }

    /// Milliseconds each push took, in no particular order.
    func push(to farms: [Int], records: Int) async throws -> [Double] {
        let next = Counter()
        return try await withThrowingTaskGroup(of: [Double].self) { group in
            for _ in 0..<min(concurrency, farms.count) {
                group.addTask {
                    var times: [Double] = []
                    while true {
                        let index = next.take()
                        guard index < farms.count else { return times }
                        times.append(try await self.push(farm: farms[index], records: records))
                    }
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
    }

    private func push(farm: Int, records: Int) async throws -> Double {
        let farmID = "farm-\(farm)"
        let device = "bench-\(farm / farmsPerToken)"
        let stamp = Timestamp(milliseconds: Int64(Date().timeIntervalSince1970 * 1000)).iso8601
        let batch: [JSONValue] = (0..<records).map { _ in
            let n = sequence.take()
            return [
                "id": .string("r\(n)"), "value": .number(JSONNumber(n)), "_updatedAt": .string(stamp), "_syncOrigin": .string(device),
            ]
        }
        let body = PushRequest(
            farmID: farmID,
            deviceID: device,
            since: cursors.withLock { $0[farm] },
            changes: [CollectionChanges(collection: "iotReadings", records: batch)]
        )
        var request = HTTPClientRequest(url: url + "/api/v1/sync/delta")
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer " + tokens[farm / farmsPerToken])
        request.body = .bytes(ByteBuffer(bytes: body.json.serialized()))
        let start = DispatchTime.now()
        let response = try await client.execute(request, timeout: .seconds(60))
        let buffer = try await response.body.collect(upTo: 64 << 20)
        let milliseconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e6
        guard response.status == .ok else {
            throw BenchError("a push to \(farmID) answered \(response.status.code): \(String(buffer: buffer).prefix(300))")
        }
        let cursor = try SyncResponse(json: JSONParser().parse(Array(buffer.readableBytesView))).cursor.description
        cursors.withLock { $0[farm] = cursor }
        return milliseconds
    }
}

/// Hands out 0, 1, 2, … to any number of tasks.
private final class Counter: Sendable {
    private let value = Atomic<Int>(0)
    func take() -> Int { value.wrappingAdd(1, ordering: .relaxed).oldValue }
}
