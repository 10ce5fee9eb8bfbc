import AsyncHTTPClient
import EggloguTestSupport
import EggloguTestTraits
import Foundation
import Testing

/// A SIGHUP reload builds a new generation of the server; its counters carry on from the old one's.
@Suite(.ownThreads) struct MetricsReloadTests {
    func get(_ url: String) async throws -> (status: Int, text: String) {
        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: url), timeout: .seconds(30))
        return (Int(response.status.code), String(buffer: try await response.body.collect(upTo: 1 << 20)))
    }

    /// The value of the counter line that starts with `series`.
    func counter(_ metrics: String, _ series: String) -> Int? {
        metrics.split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap { Int($0.split(separator: " ").last ?? "") }
    }

    @Test func countersKeepTheirValuesAcrossSIGHUP() async throws {
        let dir = TemporaryDirectory()
        let port = Broker.freePort()
        let server = ChildService("egglogu-sync-server", ["serve", "--port", "\(port)", "--data-dir", dir.file("data")], in: dir)
        try await offPool { try server.start(waitingFor: "listening on") }
        let url = "http://127.0.0.1:\(port)"
        for _ in 0..<3 { #expect(try await get(url + "/healthz").status == 200) }
        let series = #"egglogu_sync_requests_total{endpoint="healthz",outcome="ok"}"#
        #expect(counter(try await get(url + "/metrics").text, series) == 3)

        server.send(SIGHUP)
        let reloaded = try await offPool { () -> Bool in
            for _ in 0..<100 {
                if server.stderr.contains("configuration reloaded") || server.stdout.components(separatedBy: "listening on").count > 2 { return true }
                usleep(50_000)
            }
            return false
        }
        #expect(reloaded, "\(server.stderr)")
        var after: (status: Int, text: String) = (0, "")
        for _ in 0..<50 {
            if let answer = try? await get(url + "/metrics"), answer.status == 200 {
                after = answer
                break
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(counter(after.text, series) == 3, "\(after.text)")
        #expect(try await get(url + "/healthz").status == 200)
        #expect(counter(try await get(url + "/metrics").text, series) == 4)
        #expect(try await offPool { server.stop() }?.status == 0)
    }
}
