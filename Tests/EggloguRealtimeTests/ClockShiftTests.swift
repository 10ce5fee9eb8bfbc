import EggloguCore
import EggloguJSON
import EggloguTestSupport
import Foundation
import Testing

/// The soak's clock jumps are real: a program under ``ClockShift`` stamps by the shifted clock, and
/// follows the shift as it changes.
@Suite struct ClockShiftTests {
    @Test func anAgentStampsByTheShiftedClockAndFollowsItsJumps() throws {
        let directory = TemporaryDirectory()
        let shift = try ClockShift(in: directory)
        func now() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)) }
        /// Puts record `id` into `replica` under the shift; returns its stamp and the machine's
        /// time just before and just after the put.
        func stamp(_ id: String, into replica: String) throws -> (stamp: Int64, window: ClosedRange<Int64>) {
            let file = ["--replica", directory.file(replica), "--device-id", replica, "--farm-id", "farm-1"]
            let before = now()
            let put = try Subprocess.run(
                "egglogu-agent",
                ["put"] + file + ["flocks", "{\"id\":\"\(id)\"}"],
                environment: shift.environment,
                in: directory
            )
            let after = now()
            try #require(put.status == 0, "\(put.stderr)")
            let got = try Subprocess.run("egglogu-agent", ["get"] + file + ["flocks", id], in: directory)
            let text = try #require(JSONParser().parse(got.stdout).objectValue?["_updatedAt"]?.stringValue)
            return (try #require(Timestamp(iso8601: text)).milliseconds, before...after)
        }

        try shift.set(milliseconds: 180_000)
        let ahead = try stamp("a", into: "gw-1")
        #expect((ahead.window.lowerBound + 180_000...ahead.window.upperBound + 180_000).contains(ahead.stamp), "\(ahead)")
        try shift.set(milliseconds: -180_000)
        let behind = try stamp("a", into: "gw-2")
        #expect((behind.window.lowerBound - 180_000...behind.window.upperBound - 180_000).contains(behind.stamp), "\(behind)")
        // A replica that stamped ahead keeps its stamps rising after the jump back (its hybrid logical clock).
        #expect(try stamp("b", into: "gw-1").stamp > ahead.stamp)
    }
}
