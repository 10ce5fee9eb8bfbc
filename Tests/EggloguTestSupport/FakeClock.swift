import EggloguCore
import Synchronization

/// A wall clock that moves only when a test says so.
public final class FakeClock: Sendable {
    private let now: Mutex<Int64>

    public init(_ start: Timestamp = Timestamp(milliseconds: 1_750_000_000_000)) {
        now = Mutex(start.milliseconds)
    }

    public var time: Timestamp { Timestamp(milliseconds: now.withLock { $0 }) }

    public func advance(milliseconds: Int64) {
        now.withLock { $0 += milliseconds }
    }

    public func set(_ t: Timestamp) {
        now.withLock { $0 = t.milliseconds }
    }

    /// The closure a `ReplicaConfiguration` takes.
    public var reading: @Sendable () -> Timestamp {
        { [self] in time }
    }
}
