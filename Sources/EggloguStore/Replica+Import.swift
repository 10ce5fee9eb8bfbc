import EggloguCore
import EggloguJSON

extension Replica {
    /// The largest blob `import` accepts unless told otherwise: six times the largest real farm.
    public static let defaultMaxImportBytes = 32 << 20

    /// Imports an `egglogu_data` blob in one transaction.
    ///
    /// - Records the replica has never seen are backfilled at the Unix epoch, so
    ///   the same farm imported on two devices never conflicts and a stale export
    ///   never overrides live data.
    /// - Records changed since this replica's previous import are stamped now.
    /// - A record absent from the blob is soft-deleted only if the previous import
    ///   had it (or with `prune`), and only inside containers the blob has.
    /// - A record the replica got from elsewhere whose copy in the blob differs,
    ///   with no sync metadata to tell which is newer, stays as it is; the blob's
    ///   copy is archived as a conflict.
    /// - Timestamps further ahead than the allowed skew are clamped to now + skew.
    /// - Re-importing the same blob changes nothing.
    ///
    /// Any malformed input throws ``ReplicaError/Code/badData`` and leaves the replica as it was.
    public func importBlob(_ bytes: [UInt8], options: ImportOptions = ImportOptions()) async throws -> ImportReport {
        let blob: JSONValue
        do {
            blob = try JSONParser().parse(bytes)
        } catch {
            throw ReplicaError(.badData, "malformed JSON: \(error)")
        }
        return try await importBlob(blob, options: options)
    }

    /// Imports an already parsed blob; see ``importBlob(_:options:)-(Array<UInt8>,_)``.
    public func importBlob(_ blob: JSONValue, options: ImportOptions = ImportOptions()) async throws -> ImportReport {
        try await write { transaction in
            let report = try transaction.importBlob(blob, options: options)
            let summary: JSONValue = [
                "at": .string(transaction.wallClock.iso8601),
                "source": options.source.map(JSONValue.string) ?? .null,
                "added": .number(JSONNumber(report.added)),
                "updated": .number(JSONNumber(report.updated)),
                "unchanged": .number(JSONNumber(report.unchanged)),
                "stale": .number(JSONNumber(report.stale)),
                "deleted": .number(JSONNumber(report.deleted)),
                "conflicts": .number(JSONNumber(report.conflicts)),
                "clamped": .number(JSONNumber(report.clamped)),
            ]
            try Meta.set(transaction.db, .lastImport, summary.jsonText())
            return report
        }
    }
}
