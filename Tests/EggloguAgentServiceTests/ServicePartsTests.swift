import EggloguAgentSync
import EggloguCore
import EggloguProtocol
import EggloguTestSupport
import EggloguTestTraits
import Foundation
import Testing

@testable import EggloguAgentService

@Suite(.ownThreads) struct NoticeFilterTests {
    let filter = NoticeFilter(farm: "farm-1", device: "gw-b")

    func notice(farm: String = "farm-1", device: String = "gw-a", cursor: String? = "e1:10", v: Int = 1) -> [UInt8] {
        var n = Notice(farmID: farm, deviceID: device, cursor: cursor, collections: ["flocks"], count: 1, at: "2026-01-01T00:00:00.000Z")
        n.version = v
        return n.bytes
    }

    @Test func aNoticeFromAnotherDeviceOfTheFarmIsAHintToPull() {
        #expect(filter.evaluate(notice(), cursor: "e1:9") == .pull)
        #expect(filter.evaluate(notice(), cursor: nil) == .pull)
        #expect(filter.evaluate(notice(cursor: "e2:3"), cursor: "e1:99") == .pull, "another epoch: pull")
        #expect(filter.evaluate(notice(v: 7), cursor: "e1:9") == .pull, "an unknown version still triggers a pull")
        #expect(filter.evaluate(notice(cursor: nil), cursor: "e1:9") == .pull)
    }

    @Test func changesThatContinueTheCursorAreAppliedAndAnyGapIsAPull() {
        func inline(before: String?, cursor: String, v: Int = 1) -> [UInt8] {
            var n = Notice(farmID: "farm-1", deviceID: "gw-a", cursor: cursor, collections: ["flocks"], count: 1, at: "2026-01-01T00:00:00.000Z")
            n.version = v
            guard let before else { return n.bytes }
            return n.bytes(before: before, changes: [("flocks", #"{"id":"a"}"#)])!
        }
        #expect(filter.evaluate(inline(before: "e1:9", cursor: "e1:10"), cursor: "e1:9") == .apply)
        #expect(filter.evaluate(inline(before: "e1:8", cursor: "e1:10"), cursor: "e1:9") == .pull, "a gap")
        #expect(filter.evaluate(inline(before: "e1:9", cursor: "e1:10"), cursor: "e1:8") == .pull, "a notice missed")
        #expect(filter.evaluate(inline(before: "e1:9", cursor: "e1:10"), cursor: nil) == .pull, "never synced")
        #expect(filter.evaluate(inline(before: "e1:9", cursor: "e2:10"), cursor: "e1:9") == .pull, "another epoch")
        #expect(filter.evaluate(inline(before: "e1:9", cursor: "e1:10", v: 2), cursor: "e1:9") == .pull, "a later format")
        #expect(filter.evaluate(inline(before: nil, cursor: "e1:10"), cursor: "e1:9") == .pull, "a plain notice")
        #expect(filter.evaluate(inline(before: "e1:9", cursor: "e1:10"), cursor: "e1:10") == .ignore(reason: "cursor already reached"))
    }

    @Test func selfEchoForeignFarmsReachedCursorsGarbageAndGiantsAreIgnored() {
        #expect(filter.evaluate(notice(device: "gw-b"), cursor: nil) == .ignore(reason: "own notice"))
        #expect(filter.evaluate(notice(farm: "farm-2"), cursor: nil) == .ignore(reason: "another farm"))
        #expect(filter.evaluate(notice(cursor: "e1:10"), cursor: "e1:10") == .ignore(reason: "cursor already reached"))
        #expect(filter.evaluate(Array("{oops".utf8), cursor: nil) == .ignore(reason: "malformed"))
        #expect(filter.evaluate(Array(#"{"farmId":"farm-1"}"#.utf8), cursor: nil) == .ignore(reason: "malformed"))
        #expect(
            filter.evaluate(Array("[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]".utf8), cursor: nil) == .ignore(reason: "malformed")
        )
        #expect(filter.evaluate([UInt8](repeating: 0x20, count: Notice.maxBytes + 1), cursor: nil) == .ignore(reason: "oversized"))
    }
}

@Suite(.ownThreads) struct ClockCorrectionTests {
    @Test func stampsFollowServerTimeOnlyBeyondTheAllowedSkew() {
        let clock = ClockCorrection()
        let now = Timestamp(milliseconds: Int64(Date().timeIntervalSince1970 * 1000))
        #expect(clock.observe(serverTime: now.adding(milliseconds: 60_000), limit: 300_000) > 50_000)
        #expect(clock.milliseconds == 0, "a minute off is within the skew")
        clock.observe(serverTime: now.adding(milliseconds: 3_600_000), limit: 300_000)
        #expect(abs(clock.milliseconds - 3_600_000) < 5_000)
        #expect(abs(clock.now.milliseconds - now.milliseconds - 3_600_000) < 5_000, "stamps follow the server")
        clock.observe(serverTime: Timestamp(milliseconds: Int64(Date().timeIntervalSince1970 * 1000)), limit: 300_000)
        #expect(clock.milliseconds == 0)
    }
}

@Suite(.ownThreads) struct WakeupTests {
    let clock = ManualClock()

    func wait(_ wakeup: Wakeup, for duration: Duration) async -> WakeReason? {
        await wakeup.wait(until: clock.now.advanced(by: duration), on: clock)
    }

    @Test func signalsCoalesceAndTheMostUrgentComesFirst() async {
        let wakeup = Wakeup()
        wakeup.signal(.sync)
        wakeup.signal(.sync)
        wakeup.signal(.reschedule)
        wakeup.signal(.push)
        #expect(await wait(wakeup, for: .seconds(1)) == .push, "one cycle serves the push and the pull")
        #expect(await wait(wakeup, for: .seconds(1)) == .reschedule)
        async let none = wait(wakeup, for: .milliseconds(20))
        await clock.sleepers(atLeast: 1)
        clock.advance(by: .milliseconds(20))
        #expect(await none == nil, "nothing pending: the deadline answers")
        wakeup.signal(.sync)
        wakeup.signal(.shutdown)
        #expect(await wait(wakeup, for: .seconds(1)) == .shutdown)
    }

    @Test func aWaiterWakesOnASignalBeforeItsDeadline() async {
        let wakeup = Wakeup()
        async let woken = wait(wakeup, for: .seconds(3_600))
        await clock.sleepers(atLeast: 1)
        wakeup.signal(.sync)
        #expect(await woken == .sync, "the deadline would have answered nil")
        #expect(clock.sleeperCount == 0, "the signal cancelled the deadline's timer")
    }

    @Test func aDeferredReasonStaysPendingUntilTheDeadlineOrAnotherReason() async {
        let wakeup = Wakeup()
        wakeup.signal(.push)
        async let expired = wakeup.wait(until: clock.now.advanced(by: .seconds(1)), on: clock, deferring: [.push])
        await clock.sleepers(atLeast: 1)
        clock.advance(by: .seconds(1))
        #expect(await expired == nil, "a pending push does not end the wait")
        async let woken = wakeup.wait(until: clock.now.advanced(by: .seconds(60)), on: clock, deferring: [.push])
        await clock.sleepers(atLeast: 1)
        wakeup.signal(.push)
        wakeup.signal(.sync)
        #expect(await woken == .push, "a notice ends it, and its cycle serves the push too")
    }

    @Test func cancellationEndsTheWait() async {
        let wakeup = Wakeup()
        let clock = self.clock
        let task = Task { await wakeup.wait(until: clock.now.advanced(by: .seconds(60)), on: clock) }
        await clock.sleepers(atLeast: 1)
        task.cancel()
        #expect(await task.value == .shutdown)
    }
}
