import EggloguCore
import EggloguStore
import Logging

/// What a purge of the open farms removed.
public struct PurgeTotals: Sendable, Equatable {
    public var farms = 0
    public var tombstones = 0
    public var archiveEntries = 0
    /// Farms whose purge failed (a busy or full store); they are tried again next time.
    public var failures = 0

    public init() {}
}

extension SyncServer {
    /// Purges, on every open farm, tombstones and resolved conflict-archive entries older than
    /// ``SyncServerConfiguration/tombstoneRetention``. A farm that is not open is purged when it
    /// opens. Does nothing without a retention.
    public func purgeExpired(logger: Logger) async -> PurgeTotals {
        var totals = PurgeTotals()
        guard configuration.tombstoneRetention != nil else { return totals }
        for replica in stores.openReplicas {
            do {
                let report = try await stores.purge(replica)
                totals.farms += 1
                totals.tombstones += report.tombstones
                totals.archiveEntries += report.archiveEntries
            } catch {
                totals.failures += 1
                logger.warning("tombstone purge failed", metadata: ["farm": "\(replica.farmID ?? "?")", "error": "\(error)"])
            }
        }
        if totals.tombstones + totals.archiveEntries + totals.failures > 0 {
            logger.notice(
                "tombstones purged",
                metadata: [
                    "farms": "\(totals.farms)", "tombstones": "\(totals.tombstones)", "archiveEntries": "\(totals.archiveEntries)",
                    "failures": "\(totals.failures)",
                ]
            )
        }
        return totals
    }
}
