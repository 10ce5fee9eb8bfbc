import EggloguCore
import EggloguStore
import Foundation
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

extension PurgeTotals {
    fileprivate mutating func count(_ purge: @autoclosure () async throws -> PurgeReport, farm: String, logger: Logger) async {
        do {
            let report = try await purge()
            farms += 1
            tombstones += report.tombstones
            archiveEntries += report.archiveEntries
        } catch {
            failures += 1
            logger.warning("tombstone purge failed", metadata: ["farm": "\(farm)", "error": "\(error)"])
        }
    }
}

extension SyncServer {
    /// Purges, on every open farm, tombstones and resolved conflict-archive entries older than
    /// ``SyncServerConfiguration/tombstoneRetention``. A farm that is not open is purged when it
    /// opens. Does nothing without a retention.
    public func purgeExpired(logger: Logger) async -> PurgeTotals {
        var totals = PurgeTotals()
        guard let retention = configuration.tombstoneRetention else { return totals }
        if let stores {
            for replica in stores.openReplicas {
                await totals.count(try await stores.purge(replica), farm: replica.farmID ?? "?", logger: logger)
            }
        } else if let shared {
            do {
                // Every farm, open or not: any instance may purge any farm, and the farm's lock
                // keeps two purges from overlapping.
                let horizon = Timestamp(milliseconds: Int64(Date().timeIntervalSince1970 * 1000) - retention.wholeMilliseconds)
                for store in try await shared.farmsDueForPurge(every: FarmStores.purgeInterval, limit: 10_000) {
                    await totals.count(try await store.purge(receivedBefore: horizon), farm: store.farmID ?? "?", logger: logger)
                }
            } catch {
                totals.failures += 1
                logger.warning("tombstone purge failed", metadata: ["error": "\(error)"])
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
