import Foundation
import NIOCore
import Synchronization

/// Slows password guessing on the page, per client address: the first ``freeFailures`` wrong
/// passwords cost nothing, then each one locks the address out for twice as long as the last
/// (1 s, 2 s, 4 s, … up to ``longestLockout``). While locked out, a request is refused without its
/// password being checked, so guessing gains nothing. A right password clears the address's
/// record; a quiet ``forgetAfter`` forgets it. IPv6 clients are keyed by their /64, which one
/// host usually holds whole.
final class LoginThrottle: Sendable {
    /// What to do with a request that carries a password.
    enum Verdict: Equatable {
        case check
        /// Refuse it: the address is locked out for this much longer.
        case lockedOut(Duration)
    }

    /// What a wrong password led to.
    struct Failure: Equatable {
        let failures: Int
        /// How long the address is now locked out (zero while failures are still free).
        let lockout: Duration
    }

    private struct Record {
        var failures = 0
        var lockedUntil: ContinuousClock.Instant?
        var lastFailure: ContinuousClock.Instant
    }

    static let freeFailures = 5
    static let longestLockout = Duration.seconds(300)
    static let forgetAfter = Duration.seconds(900)
    /// Addresses remembered at most; the stalest are dropped first.
    static let capacity = 10_000

    private let records = Mutex<[String: Record]>([:])
    private let now: @Sendable () -> ContinuousClock.Instant

    init(now: @escaping @Sendable () -> ContinuousClock.Instant = { .now }) {
        self.now = now
    }

    /// Whether a request from `client` may have its password checked.
    func verdict(for client: String) -> Verdict {
        let now = self.now()
        return records.withLock { records in
            guard let until = records[client]?.lockedUntil, until > now else { return .check }
            return .lockedOut(until - now)
        }
    }

    /// Records a wrong password from `client`.
    func failed(_ client: String) -> Failure {
        let now = self.now()
        return records.withLock { records in
            if records[client] == nil, records.count >= Self.capacity { Self.evict(&records, now: now) }
            var record = records[client] ?? Record(lastFailure: now)
            if now - record.lastFailure > Self.forgetAfter { record.failures = 0 }
            record.failures += 1
            record.lastFailure = now
            var lockout = Duration.zero
            if record.failures > Self.freeFailures {
                let doublings = min(record.failures - Self.freeFailures - 1, 16)
                lockout = min(.seconds(1 << doublings), Self.longestLockout)
                record.lockedUntil = now + lockout
            }
            records[client] = record
            return Failure(failures: record.failures, lockout: lockout)
        }
    }

    /// A right password from `client`: its failures are forgotten.
    func succeeded(_ client: String) {
        _ = records.withLock { $0.removeValue(forKey: client) }
    }

    /// The key of an address: the IP, or its /64 for IPv6; `unknown` when there is none.
    static func key(_ address: SocketAddress?) -> String {
        guard let address, let ip = address.ipAddress else { return "unknown" }
        guard case .v6 = address, !ip.hasPrefix("::ffff:") else { return ip }
        var bytes = [UInt8](repeating: 0, count: 16)
        guard inet_pton(AF_INET6, ip, &bytes) == 1 else { return ip }
        let groups = (0..<4).map { String(UInt16(bytes[2 * $0]) << 8 | UInt16(bytes[2 * $0 + 1]), radix: 16) }
        return groups.joined(separator: ":") + "::/64"
    }

    private static func evict(_ records: inout [String: Record], now: ContinuousClock.Instant) {
        records = records.filter { now - $0.value.lastFailure <= forgetAfter }
        if records.count >= capacity, let stalest = records.min(by: { $0.value.lastFailure < $1.value.lastFailure })?.key {
            records.removeValue(forKey: stalest)
        }
    }
}
