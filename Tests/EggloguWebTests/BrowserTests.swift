import EggloguJSON
import EggloguStore
import EggloguTestSupport
import EggloguTestTraits
import Foundation
import Testing

/// The page in a real browser: headless Chromium from Debian's packages, driven by
/// Tests/browser/check-page.py, against real agents, a real server and a real broker.
/// Screenshots land in `.build/test-artifacts/browser` (or `$EGGLOGU_TEST_ARTIFACTS/browser`).
@Suite(.serialized, .ownThreads) struct BrowserTests {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let driver = packageRoot.appendingPathComponent("Tests/browser/check-page.py").path
    static var artifacts: String {
        let base =
            ProcessInfo.processInfo.environment["EGGLOGU_TEST_ARTIFACTS"].flatMap { $0.isEmpty ? nil : $0 }
            ?? packageRoot.appendingPathComponent(".build/test-artifacts").path
        return base + "/browser"
    }

    static let script = "<script>window.__pwned = 1</script>"
    static let image = #"<img src=x onerror="window.__pwned = 2">"#

    /// Runs the driver; its JSON report, or a failure naming what went wrong.
    func drive(_ arguments: [String]) async throws -> JSONObject {
        let output = try await offPool {
            try Subprocess.runTool("/usr/bin/env", ["python3", Self.driver, "--artifacts", Self.artifacts] + arguments)
        }
        let report = (try? JSONParser().parse(Array(output.stdout.utf8)))?.objectValue
        guard output.status == 0, let report, report["ok"] == true else {
            throw HarnessError("the browser check failed (\(output.status)): \(report?["error"]?.stringValue ?? output.stdout + output.stderr)")
        }
        return report
    }

    @Test func keepMineInThePageRestoresTheRecordOnTheOtherAgent() async throws {
        let chromium = try #require(
            ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { FileManager.default.isExecutableFile(atPath: $0) },
            "headless Chromium is needed: apt-get install chromium (deploy/install-deps.sh does)"
        )
        let fixture = try RealtimeFixture()
        defer { fixture.stopAll() }
        try fixture.directory.writeSecret("page password 1\n", to: "b.http-password")
        let web = ["EGGLOGU_HTTP_LISTEN": "127.0.0.1:0", "EGGLOGU_HTTP_PASSWORD_FILE": "b.http-password"]
        try fixture.startAgent("a", pollInterval: 1)
        try fixture.startAgent("b", pollInterval: 1, extra: web)
        let original: JSONValue = ["id": "f1", "name": .string("Barn 1 " + Self.script), "notes": .string(Self.image), "birds": 120]
        try await fixture.replica("a").put("flocks", original)
        #expect(await eventually(timeout: 20) { await fixture.has("b", "flocks", "f1") }, "b never saw the record")

        // b goes offline and edits; meanwhile a deletes. b comes back: the deletion wins and b's edit is archived.
        _ = fixture.agents["b"]!.stop()
        try await fixture.replica("a").delete("flocks", id: "f1")
        #expect(await eventually(timeout: 20) { (try? await fixture.replica("a").unpushedCount()) == 0 })
        try await fixture.replica("b").put(
            "flocks",
            ["id": "f1", "name": .string("Barn 1 (edited) " + Self.script), "notes": .string(Self.image), "birds": 118]
        )
        try fixture.startAgent("b", pollInterval: 1, extra: web)
        let conflictID = Box<String>()
        #expect(
            await eventually(timeout: 20) {
                conflictID.value = (try? await fixture.replica("b").conflicts())?.first { $0.kind == .deleteVsEdit }?.id
                let count = (try? await fixture.replica("a").conflicts().count) ?? 0
                return conflictID.value != nil && count == 1
            },
            "the conflict did not reach both agents"
        )
        let id = try #require(conflictID.value)
        let url = Box<String>()
        _ = await eventually(timeout: 20) {
            url.value = (try? await offPool { try fixture.service("b") })?["web"]?.stringValue
            return url.value != nil
        }
        let page = try #require(url.value, "agent b did not report its page's address")

        let resolved = try await drive(
            [
                "--chromium", chromium, "--url", page, "--password", "page password 1", "--resolve", id, "--choice", "keep-mine",
                "--expect-text", "Barn 1 (edited) " + Self.script, "--expect-text", Self.image,
            ])
        #expect(resolved["notice"]?.stringValue?.isEmpty == false)
        #expect(resolved["badgeAfter"]?.stringValue?.lowercased().contains("no conflicts") == true)

        // The restore beats the deletion on the other agent, pushed and announced at once.
        let live = await eventually(timeout: 10) {
            let record = try? await fixture.replica("a").get("flocks", id: "f1").objectValue
            return record?["_deletedAt"] == .null && record?["birds"] == 118
        }
        #expect(live, "the kept record never came back on agent a")
        #expect(await eventually(timeout: 10) { (try? await fixture.replica("a").conflicts().isEmpty) == true })

        // The page says so in words when the agent goes away.
        let pid = try #require(fixture.agents["b"]?.pid)
        let unreachable = try await drive(
            ["--chromium", chromium, "--url", page, "--password", "page password 1", "--stop-pid", "\(pid)"])
        #expect(unreachable["banner"]?.stringValue?.contains("Cannot reach") == true)
    }
}
