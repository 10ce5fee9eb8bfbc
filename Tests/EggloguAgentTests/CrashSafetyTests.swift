import EggloguFixtures
import EggloguJSON
import EggloguTestSupport
import EggloguTestTraits
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// kill -9 in the middle of a large import leaves a consistent replica holding all of it or none.
@Suite(.ownThreads) struct CrashSafetyTests {
    let dir = TemporaryDirectory()

    func records(_ path: String) throws -> Int {
        Int(try ReplicaLab.query(path: path, "SELECT count(*) AS n FROM record").first?.filter(\.isNumber) ?? "") ?? -1
    }

    @Test func killingAnImportAtAnyInstantKeepsAllOrNothing() throws {
        let farm = dir.file("large.json")
        try Data(FarmGenerator(size: .large, seed: 3).bytes()).write(to: URL(fileURLWithPath: farm))
        let small = try SmallFarm.write(in: dir)
        // The fastest of three imports, and of every resumed one below: on a loaded machine one slow
        // run would put every later kill after the end (imports got faster, so the margin is thin).
        var duration = Double.infinity
        var all = -1
        for n in 0..<3 {
            let timing = dir.file("timing-\(n).sqlite")
            #expect(try Subprocess.run("egglogu-agent", ["import", "--replica", timing, small], in: dir).status == 0)
            let start = Date()
            #expect(try Subprocess.run("egglogu-agent", ["import", "--replica", timing, farm], in: dir).status == 0)
            duration = min(duration, Date().timeIntervalSince(start))
            all = try records(timing)
        }

        var killedMidway = 0
        // Early kills as well: an import that runs twice as fast as the timing runs (a quieter
        // moment of a loaded machine) still meets at least three of them midway.
        for (n, fraction) in [0.05, 0.1, 0.2, 0.3, 0.45, 0.6, 0.8, 0.95].enumerated() {
            let replica = dir.file("replica-\(n).sqlite")
            #expect(try Subprocess.run("egglogu-agent", ["import", "--replica", replica, small], in: dir).status == 0)
            let before = try records(replica)
            let fingerprint = try ReplicaLab.fingerprint(path: replica)
            let child = try Subprocess.start("egglogu-agent", ["import", "--replica", replica, farm], in: dir)
            usleep(UInt32(duration * fraction * 1_000_000))
            child.process.send(SIGKILL)
            let output = child.finish()
            if output.signaled { killedMidway += 1 }

            #expect(try ReplicaLab.query(path: replica, "PRAGMA integrity_check") == ["[integrity_check:\"ok\"]"])
            let after = try records(replica)
            #expect(after == before || after == all, "partial import: \(after) records")
            if after == before {
                #expect(try ReplicaLab.fingerprint(path: replica) == fingerprint)
            }
            let resuming = Date()
            let resumed = try Subprocess.run("egglogu-agent", ["import", "--replica", replica, farm], in: dir)
            #expect(resumed.status == 0)
            if after == before { duration = min(duration, Date().timeIntervalSince(resuming)) }
            #expect(try records(replica) == all)
        }
        #expect(killedMidway >= 3, "the kills should land before the import finishes")
    }
}
