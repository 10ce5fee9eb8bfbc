import EggloguTestSupport
import EggloguTestTraits
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
