import AsyncHTTPClient
import EggloguJSON
import EggloguStore
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// One farm with many agent services and one of them editing: what each edit costs the server, with
/// the changes inline in the notices and, as the baseline in the same run, with plain notices
/// (`--notice-inline-bytes 0`) that make every other device pull.
struct FanoutBenchmarks {
    let work: String
    let products: URL
    let store: BenchDatabase

    /// What one configuration measured.
    struct Result {
        var pullsPerEdit: Double
        var serverCPUPerEdit: Double
        var delays: [Double]
    }

    func run(into figures: inout Figures, devices counts: [Int], edits: Int) async throws {
        for count in counts {
            let inline = try await measure(devices: count, edits: edits, inline: true)
            let plain = try await measure(devices: count, edits: edits, inline: false)
            figures.line(
                "fanout (\(store.name)): \(count) devices, server pulls per edit (changes in the notice | plain notices, the baseline)",
                String(format: "%.2f | %.2f", inline.pullsPerEdit, plain.pullsPerEdit)
            )
            figures.line(
                "fanout (\(store.name)): \(count) devices, server CPU per edit (changes in the notice | plain notices)",
                String(format: "%.2f ms | %.2f ms", inline.serverCPUPerEdit * 1000, plain.serverCPUPerEdit * 1000)
            )
            figures.line(
                "fanout (\(store.name)): \(count) devices, put on the first until it is in the last one's replica, changes in the notice",
                RealtimeBenchmarks.percentiles(inline.delays)
            )
            figures.line("fanout (\(store.name)): \(count) devices, the same with plain notices", RealtimeBenchmarks.percentiles(plain.delays))
        }
    }

    private func binary(_ name: String) -> String { products.appendingPathComponent(name).path }

    private func measure(devices count: Int, edits: Int, inline: Bool) async throws -> Result {
        let directory = "\(work)/fanout-\(store.name)-\(count)-\(inline ? "inline" : "plain")"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let farm = try BenchFarm(
            directory: directory,
            products: products,
            farm: "fan",
            serverArguments: ["--notice-inline-bytes", inline ? "8192" : "0"] + (try store.fresh().arguments)
        )
        defer { farm.stop() }
        let (server, serverPort) = (farm.server, farm.serverPort)
        let names = (0..<count).map { "gw-\($0)" }
        var agents: [pid_t] = []
        defer { agents.forEach(RealtimeBenchmarks.stop) }
        for name in names {
            let arguments = try farm.agentArguments(for: name)
            agents.append(try RealtimeBenchmarks.spawn(binary("egglogu-agent"), arguments, log: "\(directory)/\(name).log"))
        }
        for name in names { try RealtimeBenchmarks.waitFor("broker connected", in: "\(directory)/\(name).log") }

        var configuration = ReplicaConfiguration()
        configuration.deviceID = names[0]
        let first = try await Replica.open(path: "\(directory)/\(names[0]).sqlite", configuration: configuration)
        let last = try Arrival(path: "\(directory)/\(names[count - 1]).sqlite")
        // A first edit brings every device to the farm's cursor (each pulls it once), then the
        // server settles before counting starts.
        try await first.put("flocks", ["id": "warm-up"])
        try last.wait(for: "warm-up", since: .now())
        var pulls = try await settledPulls(port: serverPort)
        let (cpu0, _) = try RealtimeBenchmarks.usage(server)
        let pulls0 = pulls

        var delays: [Double] = []
        for n in 0..<edits {
            let start = DispatchTime.now()
            try await first.put("flocks", ["id": .string("edit-\(n)"), "count": .number(JSONNumber(n))])
            try last.wait(for: "edit-\(n)", since: start)
            delays.append(Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e6)
            usleep(50_000)
        }
        // Every device has every edit once each replica holds the last one.
        for name in names.dropFirst() {
            try Arrival(path: "\(directory)/\(name).sqlite").wait(for: "edit-\(edits - 1)", since: .now())
        }
        pulls = try await settledPulls(port: serverPort)
        let (cpu1, _) = try RealtimeBenchmarks.usage(server)
        return Result(pullsPerEdit: Double(pulls - pulls0) / Double(edits), serverCPUPerEdit: (cpu1 - cpu0) / Double(edits), delays: delays)
    }

    /// The server's count of pulls once it stops moving for a second.
    private func settledPulls(port: Int) async throws -> Int {
        var previous = try await pulls(port: port)
        while true {
            try await Task.sleep(for: .seconds(1))
            let now = try await pulls(port: port)
            if now == previous { return now }
            previous = now
        }
    }

    /// Pulls served so far, from the server's metrics.
    private func pulls(port: Int) async throws -> Int {
        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)/metrics"), timeout: .seconds(10))
        let text = String(buffer: try await response.body.collect(upTo: 1 << 20))
        return text.split(separator: "\n").filter { $0.hasPrefix("egglogu_sync_requests_total{") && $0.contains("endpoint=\"pull\"") }
            .compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }.reduce(0) { $0 + Int($1) }
    }
}
