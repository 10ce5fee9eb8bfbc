import EggloguAgentSync
import EggloguProtocol
import EggloguServer
import EggloguTestSupport
import EggloguTestTraits
import Logging
import Synchronization
import Testing

/// The server is the one publisher of notices: one per push that changed something, naming the
/// pushing device and the cursor after the push.
@Suite(.ownThreads) struct NoticeTests {
    @Test func onePushThatChangesSomethingMakesOneNotice() async throws {
        let lab = try await SyncLab()
        let a = try await lab.device("gw-a")
        let b = try await lab.device("gw-b")
        try await a.replica.put("flocks", ["id": "f1", "count": 1])
        let pushed = try await a.sync.sync()
        #expect(pushed.pushed == 2, "the record and the layout")
        #expect(lab.notices.all.map(\.deviceID) == ["gw-a"])
        #expect(lab.notices.all.first?.cursor == pushed.cursor)
        #expect(lab.notices.all.first?.collections == ["_syncLayout", "flocks"])
        _ = try await b.sync.sync()
        _ = try await a.sync.sync()
        #expect(lab.notices.all.count == 1, "pulls and empty cycles publish nothing")
        try await b.replica.put("flocks", ["id": "f1", "count": 2])
        let second = try await b.sync.sync()
        #expect(lab.notices.all.map(\.deviceID) == ["gw-a", "gw-b"])
        #expect(lab.notices.all.last?.cursor == second.cursor)
    }
}

/// A notice carries the push's changes when they are small, and a device whose cursor is where
/// they start applies them without a pull; anything else makes it pull, as before.
@Suite(.ownThreads) struct InlineNoticeTests {
    @Test func aDeviceAtTheCursorBeforeAppliesTheChangesAndOthersPull() async throws {
        let lab = try await SyncLab()
        let a = try await lab.device("gw-a")
        let b = try await lab.device("gw-b")
        let c = try await lab.device("gw-c")
        try await a.replica.put("flocks", ["id": "f0"])
        _ = try await a.sync.sync()
        _ = try await b.sync.sync()
        try await a.replica.put("flocks", ["id": "f1", "count": 1])
        let pushed = try await a.sync.sync()
        let payload = try #require(lab.notices.payloads.last)
        let notice = try Notice(bytes: payload)
        #expect(notice.cursor == pushed.cursor)
        #expect(notice.changes?.flatMap(\.records).compactMap { $0.objectValue?["id"]?.stringValue } == ["f1"])

        let before = try await b.replica.upstreamCursor()
        #expect(notice.before == before)
        #expect(try await b.sync.take(payload).outcome == .applied(records: 1, conflicts: 0, queued: 0))
        #expect(try await b.replica.get("flocks", id: "f1").objectValue?["count"] == 1)
        #expect(try await b.replica.upstreamCursor() == pushed.cursor)
        #expect(try await b.sync.take(payload).outcome == .ignored(reason: "cursor already reached"), "a repeat is a no-op")
        #expect(try await a.sync.take(payload).outcome == .ignored(reason: "own notice"))
        #expect(try await c.sync.take(payload).outcome == .pull, "a device that never synced pulls")
        #expect(try await b.sync.sync().pulled == 0, "nothing was left to pull")
    }

    @Test func changesTooLargeToTravelInlineMakeAPlainNotice() async throws {
        let lab = try await SyncLab()
        let a = try await lab.device("gw-a")
        try await a.replica.put("flocks", ["id": "big", "notes": .string(String(repeating: "x", count: Notice.inlineLimit))])
        _ = try await a.sync.sync()
        let payload = try #require(lab.notices.payloads.last)
        #expect(payload.count < 1_024)
        let notice = try Notice(bytes: payload)
        #expect(notice.changes == nil && notice.before == nil)
        // More changes than a notice holds are not even read: a plain notice again.
        for n in 0..<70 { try await a.replica.put("flocks", ["id": .string("small-\(n)")]) }
        _ = try await a.sync.sync()
        let many = try Notice(bytes: try #require(lab.notices.payloads.last))
        #expect(many.changes == nil && many.count == 70)
        try await a.replica.put("flocks", ["id": "one-more"])
        _ = try await a.sync.sync()
        #expect(try Notice(bytes: try #require(lab.notices.payloads.last)).changes?.count == 1, "and a small push travels inline again")
    }

    /// A notice that is not whole, or holds a record the server's checks refuse, changes nothing:
    /// the device pulls instead, and the replica stays as it was.
    @Test func hostileInlineChangesChangeNothing() async throws {
        let lab = try await SyncLab()
        let a = try await lab.device("gw-a")
        let b = try await lab.device("gw-b")
        try await a.replica.put("flocks", ["id": "kept"])
        _ = try await a.sync.sync()
        _ = try await b.sync.sync()
        let before = try #require(try await b.replica.upstreamCursor())
        let epoch = try #require(before.split(separator: ":").first)
        let held = try await b.replica.exportBlob()
        func take(_ json: String) async throws -> NoticeOutcome {
            try await b.sync.take(Array(json.utf8)).outcome
        }
        let head = #"{"v":1,"farmId":"farm-1","deviceId":"gw-x","at":"2026-01-01T00:00:00.000Z","#
        // Not whole: a hint to pull, nothing applied.
        #expect(try await take(head + #""cursor":"\#(epoch):99","before":"\#(before)","changes":{"flocks":1}}"#) == .pull)
        #expect(try await take(head + #""cursor":"\#(epoch):99","before":"\#(before)","changes":[{"collection":1}]}"#) == .pull)
        #expect(try await take(head + #""cursor":"\#(epoch):99","before":"other:1","changes":[]}"#) == .pull)
        #expect(try await take(head + #""cursor":"other:99","before":"\#(before)","changes":[]}"#) == .pull, "another epoch")
        let nested = String(repeating: "[", count: 500) + String(repeating: "]", count: 500)
        #expect(try await take(head + #""cursor":"\#(epoch):99","before":"\#(before)","changes":\#(nested)}"#) == .ignored(reason: "malformed"))
        #expect(try await b.replica.exportBlob() == held)
        #expect(try await b.replica.upstreamCursor() == before)
        // Whole, but with a record the server's checks would have refused (malformed, or stamped
        // in the future): not the server's, so nothing of it is applied and the device pulls.
        let good = #"{"id":"good","_updatedAt":"2026-01-01T00:00:00.000Z","_syncOrigin":"gw-x"}"#
        func notice(_ records: String) -> String {
            head + #""cursor":"\#(epoch):99","before":"\#(before)","changes":[{"collection":"flocks","records":[\#(records)]}]}"#
        }
        #expect(try await take(notice(good + #",{"_updatedAt":"x"}"#)) == .pull)
        #expect(try await take(notice(good + #",{"id":"f","_updatedAt":"2999-01-01T00:00:00.000Z","_syncOrigin":"gw-x"}"#)) == .pull)
        #expect(
            try await take(head + #""cursor":"\#(epoch):99","before":"\#(before)","changes":[{"collection":"bad name!","records":[\#(good)]}]}"#)
                == .pull
        )
        #expect(try await b.replica.exportBlob() == held)
        #expect(try await b.replica.upstreamCursor() == before)
        // The same records without the bad one: applied.
        #expect(try await take(notice(good)) == .applied(records: 1, conflicts: 0, queued: 0))
        #expect(try await b.replica.get("flocks", id: "good").objectValue?["id"] == "good")
        #expect(try await b.replica.get("flocks", id: "kept").objectValue?["id"] == "kept")
        #expect(try await b.replica.upstreamCursor() == "\(epoch):99")
    }
}

/// A sync cycle tells how far it has come after every page, with what is left while more follow.
@Suite(.ownThreads) struct SyncProgressTests {
    @Test func everyPageReportsRecordsBytesAndWhatIsLeft() async throws {
        let lab = try await SyncLab()
        let a = try await lab.device("gw-a")
        for n in 0..<9 { try await a.replica.put("flocks", ["id": .string("f\(n)")]) }
        _ = try await a.sync.sync()
        let seen = Mutex<[SyncProgress]>([])
        let b = try await lab.device("gw-b", pageSize: 3) { $0 }
        let engine = AgentSync(
            replica: b.replica,
            farm: lab.farm,
            transport: InProcessTransport(server: lab.server, logger: Logger(label: "test")),
            token: TokenStore(token: try await lab.authority.mint(subject: "gw-b", farms: [lab.farm], lifetime: 600).token, origin: .ephemeral),
            pageSize: 3,
            progress: { progress in seen.withLock { $0.append(progress) } }
        )
        let summary = try await engine.sync()
        let reports = seen.withLock { $0 }
        #expect(reports.count == 4, "10 changes in pages of 3: \(reports)")
        #expect(reports.map(\.pulled) == [3, 6, 9, 10])
        #expect(reports.map(\.remaining) == [7, 4, 1, 0])
        #expect(reports.filter { !$0.fromScratch }.isEmpty)
        #expect(reports.last?.bytes == summary.bytes && summary.bytes > 500)
        #expect(zip(reports, reports.dropFirst()).allSatisfy { $0.bytes < $1.bytes })
    }
}
