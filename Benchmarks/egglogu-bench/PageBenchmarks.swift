import AsyncHTTPClient
import EggloguAgentService
import EggloguAgentWeb
import EggloguFixtures
import EggloguJSON
import EggloguStore
import Foundation
import Logging
import NIOCore
import ServiceLifecycle

#if canImport(Glibc)
import Glibc
#endif

/// The status page over a large farm with many conflicts and deletions: what each API call and a
/// page refresh cost, what a Keep Mine costs, and what the listener adds to an idle agent.
struct PageBenchmarks {
    let work: String
    let products: URL

    func run(
        into figures: inout Figures,
        size: FarmSize,
        conflicts: Int,
        requests: Int,
        rssSeconds: Double,
        agent: String?
    ) async throws {
        let (b, records) = try await farmWithConflicts(conflicts, size: size)
        figures.line("page: the farm", "\(records) records, \(conflicts) delete-vs-edit conflicts, \(conflicts) deleted records")
        var configuration = LocalWebConfiguration()
        configuration.port = 0
        let web = LocalWeb(replica: b, monitor: AgentMonitor(), configuration: configuration)
        let (urls, continuation) = AsyncStream.makeStream(of: String?.self)
        var logger = Logger(label: "bench")
        logger.logLevel = .warning
        let group = ServiceGroup(
            services: [LocalWebService(web: web, logger: logger, onListening: { continuation.yield($0) })],
            gracefulShutdownSignals: [],
            logger: logger
        )
        let running = Task { try await group.run() }
        var iterator = urls.makeAsyncIterator()
        guard let listening = await iterator.next(), let base = listening.map({ String($0.dropLast()) }) else {
            throw BenchError("the page did not listen")
        }
        let csrf = try await get(base + "/api/session").json?["csrfToken"]?.stringValue ?? ""

        for path in ["/api/status", "/api/conflicts", "/api/deleted?since=30d&limit=100", "/api/events", "/metrics", "/", "/app.js"] {
            var times: [Double] = []
            var bytes = 0
            for _ in 0..<requests {
                let start = DispatchTime.now()
                bytes = try await get(base + path).body.count
                times.append(Self.milliseconds(since: start))
            }
            figures.line("page: GET \(path) (\(bytes / 1024) KiB)", RealtimeBenchmarks.percentiles(times))
        }
        // As a browser polls: every answer's ETag goes back in If-None-Match, so unchanged lists cost a 304.
        var cycles: [Double] = []
        var tags: [String: String] = [:]
        var transferred = 0
        for _ in 0..<requests {
            let start = DispatchTime.now()
            let answers = try await withThrowingTaskGroup(of: (String, Answer).self) { tasks in
                for path in ["/api/status", "/api/conflicts", "/api/events", "/api/deleted?since=7d&limit=50"] {
                    let tag = tags[path]
                    tasks.addTask { (path, try await get(base + path, ifNoneMatch: tag)) }
                }
                return try await tasks.reduce(into: []) { $0.append($1) }
            }
            cycles.append(Self.milliseconds(since: start))
            for (path, answer) in answers {
                transferred += answer.body.count
                if let tag = answer.etag { tags[path] = tag }
            }
        }
        figures.line("page: one refresh (the page's 4 parallel GETs every 3 s, revalidating)", RealtimeBenchmarks.percentiles(cycles))
        figures.line("page: body bytes per refresh, nothing changing (first refresh included)", "\(transferred / requests) bytes")
        var resolves: [Double] = []
        for entry in try await b.conflicts().prefix(min(conflicts, requests)) {
            let start = DispatchTime.now()
            let answer = try await post(base + "/api/conflicts/\(entry.id)/resolve", #"{"choice":"keep-mine"}"#, csrf: csrf)
            guard answer.status == 200 else { throw BenchError("resolve answered \(answer.status)") }
            resolves.append(Self.milliseconds(since: start))
        }
        figures.line("page: POST resolve keep-mine (restores a deleted record)", RealtimeBenchmarks.percentiles(resolves))
        await group.triggerGracefulShutdown()
        try await running.value

        if rssSeconds > 0 {
            let binary = agent ?? products.appendingPathComponent("egglogu-agent").path
            let off = try await idleRSS(binary, http: nil, settle: rssSeconds)
            let on = try await idleRSS(binary, http: "127.0.0.1:\(RealtimeBenchmarks.freePort())", settle: rssSeconds)
            let mb = { (bytes: Int) in String(format: "%.1f", Double(bytes) / 1_048_576) }
            figures.line(
                "page: idle agent RSS, page off (\(agent == nil ? "this build" : binary))",
                "\(mb(off[0])) MB settled, \(mb(off[2])) MB 40 s later"
            )
            figures.line(
                "page: idle agent RSS, page on: settled, right after a visit, 40 s after it",
                "\(mb(on[0])) MB, \(mb(on[1])) MB, \(mb(on[2])) MB"
            )
        }
    }

    /// Device B's replica of a farm in which device A deleted `count` records B had edited.
    private func farmWithConflicts(_ count: Int, size: FarmSize) async throws -> (Replica, Int) {
        let blob = FarmGenerator(size: size).bytes()
        var configuration = ReplicaConfiguration()
        configuration.deviceID = "gw-a"
        let a = try await Replica.open(path: work + "/page-a.sqlite", configuration: configuration)
        configuration.deviceID = "gw-b"
        let b = try await Replica.open(path: work + "/page-b.sqlite", configuration: configuration)
        _ = try await a.importBlob(blob)
        let imported = try await b.importBlob(blob)
        guard case .array(let production) = try await b.get("dailyProduction") else { throw BenchError("no dailyProduction") }
        let victims = production.prefix(count).compactMap(\.objectValue)
        guard victims.count == count else { throw BenchError("the farm has fewer than \(count) dailyProduction records") }
        let head = try await a.headSequence()
        for record in victims {
            guard let id = record["id"]?.stringValue else { continue }
            try await a.delete("dailyProduction", id: id)
            var edited = record.filter(keys: { !$0.hasPrefix("_") })
            edited["notes"] = .string("<b>recounted</b> on gateway B")
            try await b.put("dailyProduction", .object(edited))
        }
        let deletions = try await a.unpushed(after: head, limit: count * 2).filter { $0.collection == "dailyProduction" }
        let records = try deletions.map { try JSONParser().parse($0.body) }
        let report = try await b.merge([("dailyProduction", records)])
        guard report.conflicts == count else { throw BenchError("\(report.conflicts) conflicts instead of \(count)") }
        return (b, imported.records)
    }

    /// The resident size of `egglogu-agent run` (polling a server every 30 s, no broker): after
    /// `settle` seconds, right after a visit to the page (every handler once; none when the page
    /// is off), and 40 s after that (past the page's 30 s quiet period).
    private func idleRSS(_ binary: String, http: String?, settle: Double) async throws -> [Int] {
        let port = RealtimeBenchmarks.freePort()
        let data = work + "/rss-server"
        let server = try RealtimeBenchmarks.spawn(
            products.appendingPathComponent("egglogu-sync-server").path,
            ["serve", "--data-dir", data, "--port", "\(port)"],
            log: work + "/rss-server.log"
        )
        defer { RealtimeBenchmarks.stop(server) }
        try RealtimeBenchmarks.waitFor("listening on", in: work + "/rss-server.log")
        let token = try output(
            of: products.appendingPathComponent("egglogu-sync-server").path,
            ["token", "--data-dir", data, "--farm", "bench", "--device", "gw-rss"]
        )
        try token.write(toFile: work + "/gw-rss.token", atomically: true, encoding: .utf8)
        chmod(work + "/gw-rss.token", 0o600)
        try [
            "EGGLOGU_REPLICA=gw-rss.sqlite", "EGGLOGU_DEVICE_ID=gw-rss", "EGGLOGU_FARM_ID=bench",
            "EGGLOGU_SERVER_URL=http://127.0.0.1:\(port)", "EGGLOGU_TOKEN_FILE=gw-rss.token",
            "EGGLOGU_HTTP_LISTEN=\(http ?? "off")",
        ].joined(separator: "\n").write(toFile: work + "/gw-rss.conf", atomically: true, encoding: .utf8)
        let agent = try RealtimeBenchmarks.spawn(binary, ["run", "--config", work + "/gw-rss.conf"], log: work + "/gw-rss.log")
        defer { RealtimeBenchmarks.stop(agent) }
        try RealtimeBenchmarks.waitFor("agent running", in: work + "/gw-rss.log")
        try await Task.sleep(for: .seconds(settle))
        var samples = [try RealtimeBenchmarks.usage(agent).rss]
        if let http {
            for path in ["/", "/app.js", "/app.css", "/api/session", "/api/status", "/api/conflicts", "/api/events", "/api/deleted", "/metrics"] {
                _ = try await get("http://\(http)\(path)")
            }
        }
        samples.append(try RealtimeBenchmarks.usage(agent).rss)
        try await Task.sleep(for: .seconds(40))
        samples.append(try RealtimeBenchmarks.usage(agent).rss)
        return samples
    }

    private struct Answer {
        let status: Int
        let body: [UInt8]
        let etag: String?
        var json: JSONObject? { (try? JSONParser().parse(body))?.objectValue }
    }

    private func get(_ url: String, ifNoneMatch tag: String? = nil) async throws -> Answer {
        var request = HTTPClientRequest(url: url)
        if let tag { request.headers.add(name: "If-None-Match", value: tag) }
        return try await send(request)
    }

    private func post(_ url: String, _ body: String, csrf: String) async throws -> Answer {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "X-CSRF-Token", value: csrf)
        request.body = .bytes(ByteBuffer(string: body))
        return try await send(request)
    }

    private func send(_ request: HTTPClientRequest) async throws -> Answer {
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let buffer = try await response.body.collect(upTo: 64 << 20)
        return Answer(status: Int(response.status.code), body: Array(buffer.readableBytesView), etag: response.headers.first(name: "etag"))
    }

    private static func milliseconds(since start: DispatchTime) -> Double {
        Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e6
    }
}
