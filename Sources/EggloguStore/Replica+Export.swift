import EggloguCore
import EggloguJSON
import Foundation
import GRDB

extension Replica {
    /// The live data as an `egglogu_data` blob.
    ///
    /// Every key and field an import brought comes back unchanged and in its
    /// order; records gain only `_updatedAt`, `_deletedAt` and `_sync*` fields.
    /// Deleted records are left out. Unresolved conflict-archive entries are
    /// included as `_conflictArchive` when there are any. Records are copied from
    /// their stored text without re-parsing, which keeps a large farm's export fast.
    public func exportBlob(style: JSONWriter.Style = .compact) async throws -> [UInt8] {
        // Records are written as stored, so the blob is smaller than the file: reserved once (and
        // touched only as far as written), it is never copied to grow.
        let fileBytes = [path, path + "-wal"].reduce(0) { $0 + Int(DiskSpace.fileSize($1) ?? 0) }
        let reserve = min(max(fileBytes, 1 << 20), 256 << 20)
        let compact = try await read { db in
            var writer = JSONWriter(reservingCapacity: reserve)
            let layout = try Replica.layout(db)
            let shapes = try Replica.exportOrder(db, layout: layout)
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
                    writer.write(.object(try Replica.fields(db, collection: shape.name, order: layout.fields[shape.name] ?? [])))
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
                arguments: [CollectionName.conflictArchive]
            )
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

    static let liveInOrder = "WHERE collection = ? AND deleted_at IS NULL ORDER BY id"

    /// The synced layout, if there is one.
    static func layout(_ db: Database) throws -> BlobLayout {
        let statement = try db.cachedStatement(
            sql: "SELECT body FROM record WHERE collection = ? AND id = ? AND deleted_at IS NULL"
        )
        guard let text = try String.fetchOne(statement, arguments: [CollectionName.layout, BlobLayout.recordID]) else {
            return BlobLayout()
        }
        return BlobLayout(content: try StoredRecord.parseBody(text))
    }

    /// Keys in the layout's order, then keys only this replica knows, by name: the same on every
    /// replica that has the same layout and data.
    static func exportOrder(_ db: Database, layout: BlobLayout) throws -> [(name: String, kind: ShapeKind)] {
        let known = try Row.fetchAll(db, sql: "SELECT name, kind FROM shape ORDER BY name").compactMap { row in
            ShapeKind(rawValue: row["kind"]).map { (name: row["name"] as String, kind: $0) }
        }
        let inLayout = Set(layout.keys.map(\.name))
        return layout.keys.map { ($0.name, $0.kind) } + known.filter { !inLayout.contains($0.name) }
    }

    static func writeRecords(_ db: Database, collection: String, into writer: inout JSONWriter) throws {
        writer.appendRaw("[")
        let rows = RawStatement(try db.cachedStatement(sql: "SELECT body FROM record \(liveInOrder)"))
        defer { rows.reset() }
        try rows.bind(1, collection)
        var first = true
        while try rows.step() {
            if !first { writer.appendByte(UInt8(ascii: ",")) }
            first = false
            writer.appendRaw(rows.bytes(0))
        }
        writer.appendRaw("]")
    }

    static func writeAuditLog(_ db: Database, into writer: inout JSONWriter) throws {
        writer.appendRaw("[")
        let rows = try Row.fetchCursor(
            db.cachedStatement(
                sql: "SELECT body FROM record WHERE collection = ? AND deleted_at IS NULL ORDER BY json_extract(body, '$.ts'), id"
            ),
            arguments: [CollectionName.auditLog]
        )
        var first = true
        while let row = try rows.next() {
            if !first { writer.appendRaw(",") }
            first = false
            let content = try StoredRecord.parseBody(row["body"]).filter(keys: { !SyncField.isMetadata($0) })
            writer.write(.object(AuditEntry.exported(content)))
        }
        writer.appendRaw("]")
    }

    /// The live fields of a singleton: those the layout names in its order, then the rest by name.
    static func fields(_ db: Database, collection: String, order: [String]) throws -> JSONObject {
        var fields: [String: JSONValue] = [:]
        for text in try String.fetchAll(db.cachedStatement(sql: "SELECT body FROM record \(liveInOrder)"), arguments: [collection]) {
            let record = try StoredRecord.parseBody(text)
            guard let name = record["id"]?.stringValue else { continue }
            fields[name] = FieldRecord.value(of: record)
        }
        let named = Set(order)
        let names = order.filter { fields[$0] != nil } + fields.keys.filter { !named.contains($0) }.sorted()
        return JSONObject(uniqueEntries: names.map { ($0, fields[$0]!) })
    }

    /// A live top-level value (or nested value child), if there is one.
    static func value(_ db: Database, key: String) throws -> JSONValue? {
        let statement = try db.cachedStatement(
            sql: "SELECT body FROM record WHERE collection = ? AND id = ? AND deleted_at IS NULL"
        )
        guard let text = try String.fetchOne(statement, arguments: [CollectionName.values, key]) else { return nil }
        return FieldRecord.value(of: try StoredRecord.parseBody(text))
    }
}
