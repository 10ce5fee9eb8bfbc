import EggloguJSON
import EggloguStore
import EggloguTestSupport
import EggloguTestTraits
import Foundation
import Testing

/// The page and metrics of `egglogu-agent run` itself, with a real broker and server.
@Suite(.ownThreads) struct RunningAgentWebTests {
    func url(_ fixture: RealtimeFixture, _ device: String) async throws -> String {
        let url = Box<String>()
        _ = await eventually(timeout: 60) {
            url.value = (try? await offPool { try fixture.service(device) })?["web"]?.stringValue
            return url.value != nil
        }
        return try #require(url.value, "\(device) did not report its page's address")
    }

    func metric(_ text: String, _ name: String) -> Double? {
        text.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap { Double($0.split(separator: " ").last ?? "") }
    }

    @Test func metricsCountNoticesPullsAndTheirPropagationDelay() async throws {
        let fixture = try RealtimeFixture()
        defer { fixture.stopAll() }
        try fixture.startAgent("a")
        try fixture.startAgent("b", extra: ["EGGLOGU_HTTP_LISTEN": "127.0.0.1:0"])
        let page = try await url(fixture, "b")
        let base = String(page.dropLast())
        let web = WebClient(base: base)
        #expect(await eventually(timeout: 20) { fixture.mode("a") == "realtime" && fixture.mode("b") == "realtime" })

        try await fixture.replica("a").put("flocks", ["id": "m1", "name": "Barn 9"])
        #expect(await eventually(timeout: 20) { await fixture.has("b", "flocks", "m1") })
        var text = ""
        let counted = try await eventually(timeout: 10) {
            text = try await web.get("/metrics").body
            return (metric(text, "egglogu_agent_propagation_delay_seconds_count") ?? 0) >= 1
        }
        #expect(counted, "no propagation delay was recorded:\n\(text)")
        #expect((metric(text, "egglogu_agent_notices_received_total") ?? 0) >= 1)
        #expect(metric(text, "egglogu_agent_broker_connected") == 1)
        #expect((metric(text, #"egglogu_agent_pulls_total{outcome="ok"}"#) ?? 0) >= 1)
        #expect(metric(text, "egglogu_agent_queued_changes") == 0)
        #expect((metric(text, "egglogu_agent_last_sync_age_seconds") ?? -1) >= 0)

        let status = try await web.get("/api/status")
        #expect(status.json?["service"]?.objectValue?["web"]?.stringValue == page)
        let events = try await web.get("/api/events").json?["events"]?.arrayValue ?? []
        #expect(events.contains { $0.objectValue?["kind"] == "sync" })
    }

    @Test func aResolutionFromTheCLIReachesTheOtherAgentsPageAtOnce() async throws {
        let fixture = try RealtimeFixture()
        defer { fixture.stopAll() }
        try fixture.startAgent("a")
        try fixture.startAgent("b", extra: ["EGGLOGU_HTTP_LISTEN": "127.0.0.1:0"])
        let web = WebClient(base: String(try await url(fixture, "b").dropLast()))
        try await fixture.replica("a").put("flocks", ["id": "c1", "birds": 1])
        #expect(await eventually(timeout: 20) { await fixture.has("b", "flocks", "c1") })
        _ = fixture.agents["a"]!.stop()
        try await fixture.replica("a").put("flocks", ["id": "c1", "birds": 2])
        try await fixture.replica("b").put("flocks", ["id": "c1", "birds": 3])
        try await Task.sleep(for: .milliseconds(500))
        try fixture.startAgent("a")
        var id: String?
        let filed = try await eventually(timeout: 20) {
            let list = try await web.get("/api/conflicts").json?["conflicts"]?.arrayValue ?? []
            id = list.first?.objectValue?["id"]?.stringValue
            let count = (try? await fixture.replica("a").conflicts().count) ?? 0
            return id != nil && count == 1
        }
        #expect(filed, "the concurrent edits did not file one conflict on both agents")
        let conflict = try #require(id)

        let resolve = try await offPool {
            try Subprocess.run("egglogu-agent", ["resolve", "--config", fixture.config("a"), conflict, "--keep-mine"], in: fixture.directory)
        }
        #expect(resolve.status == 0)
        let cleared = try await eventually(timeout: 10) {
            try await web.get("/api/conflicts").json?["unresolved"] == 0
        }
        #expect(cleared, "b's page still lists the conflict resolved on a")
        let again = try await web.post(
            "/api/conflicts/\(conflict)/resolve",
            body: #"{"choice":"accept-theirs"}"#,
            csrf: try await web.csrf()
        )
        #expect(again.status == 409)
    }
}
