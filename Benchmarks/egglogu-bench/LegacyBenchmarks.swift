import AsyncHTTPClient
import EggloguAppEmulator
import EggloguFixtures
import EggloguJSON
import Foundation
import NIOCore

/// The app's web client against `egglogu-sync-server serve`: its first push of a large farm, a new
/// browser's login pull, and a one-record edit, beside a gateway doing the same over the delta
/// protocol and the whole-blob push the app used to make.
struct LegacyBenchmarks {
    let work: String
    let products: URL
    var agent: String { products.appendingPathComponent("egglogu-agent").path }
    var serverBinary: String { products.appendingPathComponent("egglogu-sync-server").path }

    func run(into figures: inout Figures, size: FarmSize, pulls: Int) async throws {
        let farm = FarmGenerator(size: size, seed: 1)
        let blob = farm.blob().objectValue!
        let data = work + "/server-data"
        func token(_ device: String) throws -> String {
            try output(of: serverBinary, ["token", "--data-dir", data, "--farm", "bench", "--device", device])
        }

        // A browser that holds the whole farm and never synced: its login pull finds nothing, its echo pushes everything.
        var server = try ServerProcess.start(binary: serverBinary, dataDir: data, log: work + "/server-1.log")
        let idle = server.memory().resident
        let first = AppBrowser(apiBase: server.url + "/api/v1", accessToken: try token("phone-1"), refreshToken: "", data: blob)
        var started = DispatchTime.now()
        try await first.logIn()
        let pushSeconds = Self.seconds(since: started)
        let pushed = first.lastAnswer?["synced"]?.numberValue?.intValue ?? 0
        let afterPush = server.memory()
        server.stop()
        figures.line(
            "legacy: first push of the farm (\(pushed) records; login pull, then the echo carries them)",
            String(
                format: "%.3f s round trips (%.3f s with the emulated client), %@ up, %@ down, server peak RSS %.1f MB (idle %.1f MB)",
                first.traffic.seconds,
                pushSeconds,
                Self.size(first.traffic.bytesSent),
                Self.size(first.traffic.bytesReceived),
                afterPush.peak,
                idle
            )
        )

        // The baseline: a gateway's first push of the same farm over the delta protocol.
        let farmFile = work + "/farm.json"
        try Data(farm.bytes()).write(to: URL(fileURLWithPath: farmFile))
        let gatewayData = work + "/gateway-data"
        server = try ServerProcess.start(binary: serverBinary, dataDir: gatewayData, log: work + "/server-g.log")
        _ = try ChildProcess.run(agent, ["import", "--replica", work + "/gw.sqlite", "--device-id", "gw", "--farm-id", "bench", farmFile])
        let gatewayToken = try output(of: serverBinary, ["token", "--data-dir", gatewayData, "--farm", "bench", "--device", "gw"])
        let gatewayPush = try ChildProcess.run(
            agent,
            [
                "sync", "--replica", work + "/gw.sqlite", "--server-url", server.url, "--token-file",
                try Self.secretFile(work + "/gw.token", gatewayToken),
            ]
        )
        let gatewayMemory = server.memory()
        server.stop()
        guard gatewayPush.status == 0 else { throw BenchError("the gateway's push failed") }
        figures.line(
            "  baseline: a gateway's first push of the same farm (delta protocol, whole egglogu-agent sync)",
            String(format: "%.3f s, server peak RSS %.1f MB", gatewayPush.seconds, gatewayMemory.peak)
        )

        // New browsers of the farm log in: the pull alone, then a whole login (pull and echo).
        server = try ServerProcess.start(binary: serverBinary, dataDir: data, log: work + "/server-2.log")
        var pullTimes: [Double] = []
        var pullBytes = 0
        for n in 0..<pulls {
            var request = HTTPClientRequest(url: server.url + "/api/v1/sync")
            request.method = .POST
            request.headers.add(name: "Authorization", value: "Bearer " + (try token("phone-pull-\(n)")))
            request.body = .bytes(ByteBuffer(string: #"{"last_synced_at": null, "data": {}}"#))
            started = DispatchTime.now()
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(120))
            pullBytes = try await response.body.collect(upTo: 1 << 30).readableBytes
            pullTimes.append(Self.seconds(since: started))
            guard response.status == .ok else { throw BenchError("a login pull answered \(response.status.code)") }
        }
        let pullMemory = server.memory()
        let fresh = AppBrowser(apiBase: server.url + "/api/v1", accessToken: try token("phone-2"), refreshToken: "")
        started = DispatchTime.now()
        try await fresh.logIn()
        let loginSeconds = Self.seconds(since: started)
        let loginMemory = server.memory()
        pullTimes.sort()
        figures.line(
            "legacy: a new browser's login pull of the farm (\(pulls) pulls)",
            String(
                format: "median %.3f s (min %.3f, max %.3f), %@ down, server peak RSS %.1f MB",
                pullTimes[pullTimes.count / 2],
                pullTimes.first!,
                pullTimes.last!,
                Self.size(pullBytes),
                pullMemory.peak
            )
        )
        figures.line(
            "legacy: the whole login (pull, then the echo of everything, which changes nothing)",
            String(
                format: "%.3f s round trips (%.3f s with the emulated client), %@ up, %@ down, synced %d, server peak RSS %.1f MB",
                fresh.traffic.seconds,
                loginSeconds,
                Self.size(fresh.traffic.bytesSent),
                Self.size(fresh.traffic.bytesReceived),
                fresh.lastAnswer?["synced"]?.numberValue?.intValue ?? -1,
                loginMemory.peak
            )
        )
        let gatewayPull = try ChildProcess.run(
            agent,
            [
                "sync", "--replica", work + "/gw-new.sqlite", "--device-id", "gw-new", "--farm-id", "bench", "--server-url", server.url,
                "--token-file", try Self.secretFile(work + "/gw-new.token", try token("gw-new")),
            ]
        )
        guard gatewayPull.status == 0 else { throw BenchError("the gateway's initial sync failed") }
        figures.line(
            "  baseline: a new gateway's initial sync of the same farm (delta protocol, whole egglogu-agent sync)",
            String(format: "%.3f s", gatewayPull.seconds)
        )

        // One edit on a logged-in browser.
        let before = fresh.traffic
        let flock = fresh.records("flocks")[0]
        fresh.edit(
            "flocks",
            id: flock["id"]!.stringValue!,
            [("currentCount", .number(JSONNumber((flock["currentCount"]?.numberValue?.intValue ?? 0) - 1)))]
        )
        started = DispatchTime.now()
        try await fresh.sync()
        let editSeconds = Self.seconds(since: started)
        server.stop()
        figures.line(
            "legacy: one flock edit synced by a browser",
            String(
                format: "%d bytes up, %d bytes down, %.1f ms round trip (%.1f ms with the emulated client's snapshot diffs)",
                fresh.traffic.bytesSent - before.bytesSent,
                fresh.traffic.bytesReceived - before.bytesReceived,
                (fresh.traffic.seconds - before.seconds) * 1000,
                editSeconds * 1000
            )
        )
        figures.line("  baseline: the same edit as the app's old whole-blob push", "\(farm.bytes().count) bytes up")
    }

    static func seconds(since start: DispatchTime) -> Double {
        Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    }

    static func size(_ bytes: Int) -> String {
        bytes >= 1 << 20 ? String(format: "%.2f MB", Double(bytes) / 1_048_576) : String(format: "%.1f KB", Double(bytes) / 1024)
    }

    /// Writes a token where the agent accepts it: a file only its owner reads.
    static func secretFile(_ path: String, _ token: String) throws -> String {
        FileManager.default.createFile(atPath: path, contents: Data((token + "\n").utf8), attributes: [.posixPermissions: 0o600])
        return path
    }
}
