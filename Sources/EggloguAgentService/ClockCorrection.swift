import EggloguCore
import Foundation
import Synchronization

/// The offset between this machine's clock and the server's, applied to local stamps when it
/// exceeds the allowed skew (a Pi boots without a real-time clock).
public final class ClockCorrection: Sendable {
    private let offset = Mutex<Int64>(0)

    public init() {}

    /// The system clock, corrected.
    public var now: Timestamp {
        Timestamp(milliseconds: Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)) + offset.withLock { $0 })
    }

    /// The wall clock a replica should use.
    public var reading: @Sendable () -> Timestamp {
        { [self] in now }
    }

    public var milliseconds: Int64 { offset.withLock { $0 } }

    /// Compares the server's clock with ours; beyond `limit` our stamps follow the server.
    ///
    /// - Returns: the measured offset (server minus local) in milliseconds.
    @discardableResult
    func observe(serverTime: Timestamp, limit: Int64) -> Int64 {
        let local = Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))
        let measured = serverTime.milliseconds - local
        offset.withLock { $0 = abs(measured) > limit ? measured : 0 }
        return measured
    }
}
