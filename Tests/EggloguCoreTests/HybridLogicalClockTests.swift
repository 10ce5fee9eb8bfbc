import EggloguCore
import EggloguTestTraits
import Testing

@Suite(.ownThreads) struct HybridLogicalClockTests {
    let skew: Int64 = 300_000
    let wall = Timestamp(milliseconds: 1_750_000_000_000)

    func take(_ clock: inout HybridLogicalClock, at wall: Timestamp) -> Timestamp? {
        guard case .stamp(let t, _) = clock.next(wallClock: wall) else { return nil }
        clock.observe(t)
        return t
    }

    @Test func followsTheWallClockWhenItIsAhead() {
        var clock = HybridLogicalClock(high: .epoch, maxSkewMilliseconds: skew)
        #expect(take(&clock, at: wall) == wall)
    }

    @Test func strictlyIncreasesWithinOneMillisecond() {
        var clock = HybridLogicalClock(high: .epoch, maxSkewMilliseconds: skew)
        var last = Timestamp.epoch
        for _ in 0..<1_000 {
            let t = take(&clock, at: wall)!
            #expect(t > last)
            last = t
        }
    }

    @Test func stampsExceedEverythingMerged() {
        var clock = HybridLogicalClock(high: .epoch, maxSkewMilliseconds: skew)
        let pulled = wall.adding(milliseconds: 60_000)
        clock.observe(pulled)
        #expect(take(&clock, at: wall)! > pulled)
    }

    @Test func neverRunsMoreThanTheSkewAheadAtAnyWriteRate() {
        var clock = HybridLogicalClock(high: wall.adding(milliseconds: skew - 5), maxSkewMilliseconds: skew)
        var issued = 0
        var waits = 0
        for _ in 0..<20 {
            switch clock.next(wallClock: wall) {
            case .stamp(let t, let behind):
                #expect(t.milliseconds - wall.milliseconds <= skew)
                #expect(!behind)
                clock.observe(t)
                issued += 1
            case .wait(let ms):
                #expect(ms > 0 && ms <= HybridLogicalClock.maxWaitMilliseconds)
                waits += 1
            }
        }
        #expect(issued == 5)
        #expect(waits == 15)
    }

    @Test func aWallClockFarBehindDoesNotBlockWritesAndIsReported() {
        let persisted = wall.adding(milliseconds: 3_600_000)
        var clock = HybridLogicalClock(high: persisted, maxSkewMilliseconds: skew)
        guard case .stamp(let t, let behind) = clock.next(wallClock: Timestamp(milliseconds: 0)) else {
            Issue.record("expected a stamp")
            return
        }
        #expect(t == persisted.adding(milliseconds: 1))
        #expect(behind)
    }
}
