import GRDB

/// Keys of the `meta` table.
enum Meta: String {
    case deviceID = "device_id"
    case farmID = "farm_id"
    case createdAt = "created_at"
    case clockHigh = "clock_high"
    case lastImport = "last_import"

    static func get(_ db: Database, _ key: Meta) throws -> String? {
        try String.fetchOne(db.cachedStatement(sql: "SELECT value FROM meta WHERE key = ?"), arguments: [key.rawValue])
    }

    static func set(_ db: Database, _ key: Meta, _ value: String) throws {
        try db.cachedStatement(sql: "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value")
            .execute(arguments: [key.rawValue, value])
    }
}
