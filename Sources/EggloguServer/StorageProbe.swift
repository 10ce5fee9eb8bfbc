import EggloguStore
import Foundation
import Synchronization

/// Whether the data directory can take writes: its free space, and a small file written and removed.
/// A full or read-only disk makes `/healthz` answer 503 while pulls may still work, so a load balancer
/// or an operator sees it before devices pile up failed pushes.
final class StorageProbe: Sendable {
    /// The outcome of one probe.
    struct Reading: Sendable {
        /// `disk-full`, `data-dir-not-writable` or `database-unreadable`; nil when healthy.
        let problem: String?
        let message: String
        let freeBytes: Int64?
    }

    private let directory: String
    private let databaseReadable: @Sendable () async -> Bool
    private let last = Mutex<(at: ContinuousClock.Instant, reading: Reading)?>(nil)
    /// Probes at most this often; `/healthz` is unauthenticated and must stay cheap under a flood.
    private let interval = Duration.seconds(1)

    init(directory: String, databaseReadable: @escaping @Sendable () async -> Bool) {
        self.directory = directory
        self.databaseReadable = databaseReadable
    }

    /// The last reading if recent, else a new one.
    func read() async -> Reading {
        if let cached = last.withLock({ $0 }), ContinuousClock.now - cached.at < interval { return cached.reading }
        let reading = await probe()
        last.withLock { $0 = (.now, reading) }
        return reading
    }

    private func probe() async -> Reading {
        let free = DiskSpace.available(near: directory)
        if let free, free < DiskSpace.fullBelow {
            return Reading(
                problem: "disk-full",
                message: "the disk holding the data directory is full (\(DiskSpace.describe(free)) free)",
                freeBytes: free
            )
        }
        if let failure = await DiskSpace.writeProbe(in: directory) {
            return Reading(problem: "data-dir-not-writable", message: "the data directory cannot be written: \(failure)", freeBytes: free)
        }
        guard await databaseReadable() else {
            return Reading(problem: "database-unreadable", message: "the server database does not answer", freeBytes: free)
        }
        return Reading(problem: nil, message: "ok", freeBytes: free)
    }
}
