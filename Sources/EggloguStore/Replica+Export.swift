import EggloguCore
import EggloguJSON
import GRDB

extension Replica {
    /// The live data as an `egglogu_data` blob.
    ///
    /// Every key and field an import brought comes back unchanged and in its
    /// order; records gain only `_updatedAt`, `_deletedAt` and `_sync*` fields.
    /// Deleted records are left out. Unresolved conflict-archive entries are
    /// included as `_conflictArchive` when there are any. Records are copied from
    /// their stored text without re-parsing, which keeps a large farm's export fast.
    public func exportBlob(style: JSONWriter.Style = .compact) throws -> [UInt8] {
        let compact = try read { db in
            var writer = JSONWriter(reservingCapacity: 1 << 20)
            let shapes = try Row.fetchAll(db, sql: "SELECT name, kind FROM shape ORDER BY ord").compactMap { row in
                ShapeKind(rawValue: row[1]).map { (name: row[0] as String, kind: $0) }
            }
            writer.appendRaw("{")
            var first = true
            func key(_ name: String) {
                if !first { writer.appendRaw(",") }
                first = false
                writer.writeString(name)
                writer.appendRaw(":")
            }
            for shape in shapes where !shape.name.contains(".") {
                switch shape.kind {
                case .collection:
                    key(shape.name)
                    try Replica.writeRecords(db, collection: shape.name, into: &writer)
                case .auditLog:
                    key(shape.name)
                    try Replica.writeAuditLog(db, into: &writer)
                case .singleton:
                    key(shape.name)
                    writer.write(.object(try Replica.fields(db, collection: shape.name)))
                case .value:
                    guard let value = try Replica.value(db, key: shape.name) else { continue }
                    key(shape.name)
                    writer.write(value)
                case .nested:
                    key(shape.name)
                    writer.appendRaw("{")
                    var firstChild = true
                    for child in shapes where child.name.hasPrefix(shape.name + ".") {
                        let value = child.kind == .value ? try Replica.value(db, key: child.name) : nil
                        if child.kind == .value && value == nil { continue }
                        if !firstChild { writer.appendRaw(",") }
                        firstChild = false
                        writer.writeString(String(child.name.dropFirst(shape.name.count + 1)))
                        writer.appendRaw(":")
                        if let value {
                            writer.write(value)
                        } else {
                            try Replica.writeRecords(db, collection: child.name, into: &writer)
                        }
                    }
                    writer.appendRaw("}")
                }
            }
            let unresolved = try String.fetchAll(
                db,
                sql: """
                    SELECT body FROM record WHERE collection = ? AND json_extract(body, '$.resolved') = 0
                    ORDER BY updated_at, id
                    """,
                arguments: [CollectionName.conflictArchive])
            if !unresolved.isEmpty {
                key(CollectionName.conflictArchive)
                writer.appendRaw("[")
                writer.appendRaw(unresolved.joined(separator: ",").utf8)
                writer.appendRaw("]")
            }
            writer.appendRaw("}")
            return writer.bytes
        }
        guard style != .compact else { return compact }
        return try JSONParser().parse(compact).serialized(style)
    }

    static let liveInOrder = "WHERE collection = ? AND deleted_at IS NULL ORDER BY pos IS NULL, pos, id"

    static func writeRecords(_ db: Database, collection: String, into writer: inout JSONWriter) throws {
        writer.appendRaw("[")
        let rows = try Row.fetchCursor(db.cachedStatement(sql: "SELECT body FROM record \(liveInOrder)"), arguments: [collection])
        var first = true
        while let row = try rows.next() {
            if !first { writer.appendRaw(",") }
            first = false
            try row.withUnsafeData(atIndex: 0) { data in
                if let data { writer.appendRaw(data) }
            }
        }
        writer.appendRaw("]")
    }

    static func writeAuditLog(_ db: Database, into writer: inout JSONWriter) throws {
        writer.appendRaw("[")
        let rows = try Row.fetchCursor(db.cachedStatement(sql: "SELECT body FROM record \(liveInOrder)"), arguments: [CollectionName.auditLog])
        var first = true
        while let row = try rows.next() {
            if !first { writer.appendRaw(",") }
            first = false
            let content = try StoredRecord.parseBody(row[0]).filter(keys: { !SyncField.isMetadata($0) })
            writer.write(.object(AuditEntry.exported(content)))
        }
        writer.appendRaw("]")
    }

    /// The live fields of a singleton, in order.
    static func fields(_ db: Database, collection: String) throws -> JSONObject {
        var fields: [JSONObject.Element] = []
        for text in try String.fetchAll(db.cachedStatement(sql: "SELECT body FROM record \(liveInOrder)"), arguments: [collection]) {
            let record = try StoredRecord.parseBody(text)
            guard let name = record["id"]?.stringValue else { continue }
            fields.append((name, FieldRecord.value(of: record)))
        }
        return JSONObject(uniqueEntries: fields)
    }

    /// A live top-level value (or nested value child), if there is one.
    static func value(_ db: Database, key: String) throws -> JSONValue? {
        let statement = try db.cachedStatement(
            sql: "SELECT body FROM record WHERE collection = ? AND id = ? AND deleted_at IS NULL")
        guard let text = try String.fetchOne(statement, arguments: [CollectionName.values, key]) else { return nil }
        return FieldRecord.value(of: try StoredRecord.parseBody(text))
    }
}
