import AsyncHTTPClient
import EggloguCore
import EggloguFixtures
import EggloguJSON
import EggloguProtocol
import EggloguStore
import Foundation
import NIOCore
import NIOHTTP1

/// The delta-sync figures: bytes for one edit, the initial sync of a large farm, and server latency under load.
struct SyncBenchmarks {
    let work: String
    let products: URL
    var agent: String { products.appendingPathComponent("egglogu-agent").path }
    var serverBinary: String { products.appendingPathComponent("egglogu-sync-server").path }

    /// How figures name a generated farm.
    static func name(of size: FarmSize) -> String {
        size == .large ? "the large farm" : "a \(size.dailyProduction)-record farm"
    }

    /// - Parameter staticAgent: an `egglogu-agent` built with `--static-swift-stdlib`, as gateways
    ///   run it, whose initial sync is measured beside the default build's.
    func run(
        into figures: inout Figures,
        size: FarmSize,
        initialSyncs: Int,
        devices: Int,
        requestsPerDevice: Int,
        staticAgent: String? = nil
    ) async throws {
        let data = work + "/server-data"
        let server = try ServerProcess.start(binary: serverBinary, dataDir: data, log: work + "/server.log")
        defer { server.stop() }
        func token(_ device: String) throws -> String {
            let file = "\(work)/\(device).token"
            try output(of: serverBinary, ["token", "--data-dir", data, "--farm", "bench", "--device", device]).write(
                toFile: file,
                atomically: true,
                encoding: .utf8
            )
            chmod(file, 0o600)
            return file
        }
        func agentArguments(_ device: String, _ command: String) throws -> [String] {
            [
                command, "--replica", "\(work)/\(device).sqlite", "--device-id", device, "--farm-id", "bench", "--server-url", server.url,
                "--token-file", try token(device),
            ].filter { !$0.isEmpty }
        }
        let farm = work + "/large-farm.json"
        let blob = FarmGenerator(size: size).bytes()
        let farmName = Self.name(of: size)
        try Data(blob).write(to: URL(fileURLWithPath: farm))

        // A gateway imports the large farm and pushes it.
        _ = try ChildProcess.run(agent, ["import", "--replica", "\(work)/gw-a.sqlite", "--device-id", "gw-a", "--farm-id", "bench", farm])
        let push = try ChildProcess.run(agent, try agentArguments("gw-a", "sync"))
        guard push.status == 0 else { throw BenchError("the first push failed") }
        figures.line(
            "sync: first push of \(farmName) (egglogu-agent sync)",
            String(format: "%.3f s, peak RSS %.1f MB", push.seconds, Double(push.peakRSSBytes) / 1_048_576)
        )

        // Another gateway syncs it into an empty replica.
        func syncIntoEmptyReplicas(with binary: String, devicePrefix: String) throws -> [ChildProcess.Result] {
            try (0..<initialSyncs).map { n in
                let result = try ChildProcess.run(binary, try agentArguments("\(devicePrefix)\(n)", "sync"))
                guard result.status == 0 else { throw BenchError("the initial sync with \(binary) failed") }
                return result
            }
        }
        figures.add(
            "sync: initial sync of \(farmName) into an empty replica (egglogu-agent sync)",
            try syncIntoEmptyReplicas(with: agent, devicePrefix: "gw-b")
        )
        if let staticAgent {
            figures.add(
                "sync: the same, static build (--static-swift-stdlib, as gateways run it)",
                try syncIntoEmptyReplicas(with: staticAgent, devicePrefix: "gw-s")
            )
        }

        // One edit: what goes up, and what the other gateway pulls.
        let replica = try await Replica.open(path: "\(work)/gw-a.sqlite")
        let flock = try await replica.get("flocks").arrayValue!.first!.objectValue!
        var edited = flock
        edited["currentCount"] = .number(JSONNumber((flock["currentCount"]?.numberValue?.intValue ?? 0) - 1))
        try await replica.put("flocks", .object(edited))
        let cursor = try await Replica.open(path: "\(work)/gw-b0.sqlite").upstreamCursor()
        let batch = try await replica.unpushed(limit: 500)
        let request = await PushRequest(
            farmID: "bench",
            deviceID: "gw-a",
            since: try replica.upstreamCursor(),
            changes: batch.map { CollectionChanges(collection: $0.collection, records: [try! JSONParser().parse($0.body)]) }
        )
        let pushBytes = request.json.serialized().count
        _ = try ChildProcess.run(agent, try agentArguments("gw-a", "sync"))
        let tokenB = try String(contentsOfFile: try token("gw-b0"), encoding: .utf8)
        var pull = HTTPClientRequest(url: "\(server.url)/api/v1/sync/delta?farmId=bench&since=\(cursor ?? "")")
        pull.headers.add(name: "Authorization", value: "Bearer " + tokenB.trimmingCharacters(in: .whitespacesAndNewlines))
        let response = try await HTTPClient.shared.execute(pull, timeout: .seconds(30))
        let pullBytes = try await response.body.collect(upTo: 1 << 20).readableBytes
        figures.line("sync: one flock edit on \(farmName), push request body", "\(pushBytes) bytes")
        figures.line("sync: the same edit, pull response body carrying it", "\(pullBytes) bytes")
        figures.line("sync: the same edit as a legacy full push (the whole blob)", "\(blob.count) bytes")

        try await Self.load(
            urls: [server.url],
            data: data,
            serverBinary: serverBinary,
            devices: devices,
            requestsPerDevice: requestsPerDevice,
            into: &figures
        )
    }

    /// `devices` concurrent devices of one farm, each pushing one record per request, spread over
    /// the server instances at `urls` (one data directory).
    static func load(
        urls: [String],
        data: String,
        serverBinary: String,
        devices: Int,
        requestsPerDevice: Int,
        store: BenchDatabase = .sqlite,
        into figures: inout Figures
    ) async throws {
        var tokens: [String] = []
        for n in 0..<devices {
            tokens.append(try output(of: serverBinary, ["token", "--data-dir", data, "--farm", "load", "--device", "load-\(n)"] + store.arguments))
        }
        let client = HTTPClient(
            eventLoopGroupProvider: .singleton,
            configuration: .init(connectionPool: .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: devices))
        )
        let started = DispatchTime.now()
        let latencies: [Double]
        do {
            latencies = try await withThrowingTaskGroup(of: [Double].self) { group in
                for (n, token) in tokens.enumerated() {
                    group.addTask {
                        var cursor: String? = nil
                        var times: [Double] = []
                        for k in 0..<requestsPerDevice {
                            let stamp = Timestamp(milliseconds: Int64(Date().timeIntervalSince1970 * 1000)).iso8601
                            let record: JSONValue = [
                                "id": .string("d\(n)-r\(k % 10)"), "value": .number(JSONNumber(k)), "_updatedAt": .string(stamp),
                                "_syncOrigin": .string("load-\(n)"),
                            ]
                            let body = PushRequest(
                                farmID: "load",
                                deviceID: "load-\(n)",
                                since: cursor,
                                changes: [CollectionChanges(collection: "iotReadings", records: [record])]
                            )
                            var request = HTTPClientRequest(url: urls[n % urls.count] + "/api/v1/sync/delta")
                            request.method = .POST
                            request.headers.add(name: "Authorization", value: "Bearer " + token)
                            request.body = .bytes(ByteBuffer(bytes: body.json.serialized()))
                            let start = DispatchTime.now()
                            let response = try await client.execute(request, timeout: .seconds(30))
                            let buffer = try await response.body.collect(upTo: 16 << 20)
                            times.append(Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e6)
                            guard response.status == .ok else { throw BenchError("push answered \(response.status.code)") }
                            cursor = try SyncResponse(json: JSONParser().parse(Array(buffer.readableBytesView))).cursor.description
                        }
                        return times
                    }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
        } catch {
            try? await client.shutdown()
            throw error
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9
        try await client.shutdown()
        let sorted = latencies.sorted()
        func percentile(_ p: Double) -> Double { sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] }
        figures.line(
            "server (\(store.name)): \(devices) concurrent devices of one farm on \(urls.count) instance\(urls.count == 1 ? "" : "s"), one record per push, \(sorted.count) pushes",
            String(
                format: "p50 %.1f ms, p99 %.1f ms, max %.1f ms, %.0f pushes/s",
                percentile(0.5),
                percentile(0.99),
                sorted.last!,
                Double(sorted.count) / seconds
            )
        )
    }
}
