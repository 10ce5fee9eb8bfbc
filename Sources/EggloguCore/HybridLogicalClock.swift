/// A hybrid logical clock whose stamps are ordinary millisecond ISO-8601 instants.
///
/// The logical part is folded into the milliseconds: a stamp is the wall clock,
/// or one millisecond above the highest timestamp this replica has issued or
/// merged, whichever is later. So stamps are strictly increasing (the caller
/// persists ``high``), and an edit made after a pull always beats what was pulled.
///
/// Stamps are kept within ``maxSkew`` of the wall clock: when a burst of writes
/// (more than one a millisecond) or a merged timestamp near the skew limit would
/// push a stamp further ahead, ``next(wallClock:)`` asks the caller to wait a
/// moment instead. A wall clock far behind ``high`` (a Pi that booted without
/// network time) cannot be waited out; the clock then keeps counting from
/// ``high`` and reports the anomaly.
public struct HybridLogicalClock: Sendable, Equatable {
    /// The highest timestamp issued or merged so far.
    public private(set) var high: Timestamp
    /// How far ahead of the wall clock a timestamp may be (default 5 minutes).
    public let maxSkewMilliseconds: Int64
    /// The largest wait `next` asks for; larger gaps mean the wall clock is wrong.
    public static let maxWaitMilliseconds: Int64 = 2_000
    /// The default for ``maxSkewMilliseconds``.
    public static let defaultMaxSkewMilliseconds: Int64 = 300_000

    /// A clock that continues from `high` (the persisted high-water mark).
    public init(high: Timestamp = .epoch, maxSkewMilliseconds: Int64 = HybridLogicalClock.defaultMaxSkewMilliseconds) {
        self.high = high
        self.maxSkewMilliseconds = maxSkewMilliseconds
    }

    /// What the clock says for the next local transaction.
    public enum Reading: Sendable, Equatable {
        /// Use this stamp. `wallClockBehind` is true when it had to run ahead of a wall clock that is plainly wrong.
        case stamp(Timestamp, wallClockBehind: Bool)
        /// Too far ahead of the wall clock: wait this long, then ask again.
        case wait(milliseconds: Int64)
    }

    /// The next stamp for a local transaction, without consuming it.
    public func next(wallClock: Timestamp) -> Reading {
        let candidate = max(wallClock, high.adding(milliseconds: 1))
        let excess = candidate.milliseconds - wallClock.milliseconds - maxSkewMilliseconds
        if excess <= 0 { return .stamp(candidate, wallClockBehind: false) }
        if excess <= HybridLogicalClock.maxWaitMilliseconds { return .wait(milliseconds: excess) }
        return .stamp(candidate, wallClockBehind: true)
    }

    /// Records a timestamp that was issued or merged, so later stamps exceed it.
    public mutating func observe(_ timestamp: Timestamp) {
        if timestamp > high { high = timestamp }
    }

    /// The latest instant an incoming timestamp may carry before it counts as "in the future".
    public func futureLimit(wallClock: Timestamp) -> Timestamp {
        wallClock.adding(milliseconds: maxSkewMilliseconds)
    }
}
