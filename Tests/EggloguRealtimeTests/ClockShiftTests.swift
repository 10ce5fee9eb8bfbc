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
        /// Puts record `id` into `replica` under the shift; returns its stamp, less the machine's time.
        func stamp(_ id: String, into replica: String) throws -> Int64 {
            let file = ["--replica", directory.file(replica), "--device-id", replica, "--farm-id", "farm-1"]
            let put = try Subprocess.run(
                "egglogu-agent",
                ["put"] + file + ["flocks", "{\"id\":\"\(id)\"}"],
                environment: shift.environment,
                in: directory
            )
            try #require(put.status == 0, "\(put.stderr)")
            let got = try Subprocess.run("egglogu-agent", ["get"] + file + ["flocks", id], in: directory)
            let text = try #require(JSONParser().parse(got.stdout).objectValue?["_updatedAt"]?.stringValue)
            return try #require(Timestamp(iso8601: text)).milliseconds - Int64(Date().timeIntervalSince1970 * 1000)
        }

        try shift.set(milliseconds: 180_000)
        let ahead = try stamp("a", into: "gw-1")
        #expect((170_000...180_500).contains(ahead), "\(ahead) ms ahead")
        try shift.set(milliseconds: -180_000)
        let behind = try stamp("a", into: "gw-2")
        #expect((-180_500 ... -170_000).contains(behind), "\(behind) ms behind")
        // A replica that stamped ahead keeps its stamps rising after the jump back (its hybrid logical clock).
        #expect(try stamp("b", into: "gw-1") > ahead - 1_000)
    }
}
