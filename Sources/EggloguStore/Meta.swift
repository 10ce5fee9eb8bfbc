import GRDB

/// Keys of the `meta` table.
enum Meta: String {
    case deviceID = "device_id"
    case farmID = "farm_id"
    case createdAt = "created_at"
    case clockHigh = "clock_high"
    case lastImport = "last_import"
    /// Identifies this database; a restored backup gets a new one.
    case epoch = "epoch"
    /// The upstream cursor the agent's last pull or push ended at.
    case upstreamCursor = "upstream_cursor"
    /// When the agent last completed a sync with its server.
    case lastSync = "last_sync"
    /// The highest sequence number of a tombstone or archive entry purged: a cursor below it
    /// may have missed a deletion.
    case purgedThrough = "purged_through"
    /// The highest sequence number ever given to a row that is gone (purged, or dropped by a
    /// rebase): the sequence continues above it, so no number is ever given twice.
    case sequenceFloor = "sequence_floor"
    /// When tombstones were last purged.
    case lastPurge = "last_purge"
    /// What the running agent service reports about itself (JSON).
    case serviceState = "service_state"

    static func get(_ db: Database, _ key: Meta) throws -> String? {
        try String.fetchOne(db.cachedStatement(sql: "SELECT value FROM meta WHERE key = ?"), arguments: [key.rawValue])
    }

    static func set(_ db: Database, _ key: Meta, _ value: String) throws {
        try db.cachedStatement(sql: "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value")
            .execute(arguments: [key.rawValue, value])
    }
}
