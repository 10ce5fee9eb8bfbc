import EggloguCore
import EggloguJSON
import GRDB

/// What a name given to `get`, `put` or `delete` refers to.
enum RecordTarget: Equatable {
    /// A collection of records with ids.
    case collection(String)
    /// `farm` or `settings`, edited per field.
    case singleton(String)
    /// A top-level value (or a value inside a nested object), replaced as a whole.
    case value(String)
    /// The append-only audit log.
    case auditLog
}

extension Replica {
    func target(_ name: String, for value: JSONValue? = nil, in db: Database) throws -> RecordTarget {
        if name == CollectionName.conflictArchive {
            throw ReplicaError(.invalidName, "\(name) is managed by `conflicts` and `resolve`")
        }
        let shape = try String.fetchOne(db, sql: "SELECT kind FROM shape WHERE name = ?", arguments: [name])
            .flatMap(ShapeKind.init(rawValue:))
        switch (CollectionName.kind(of: name), shape) {
        case (.singleton?, _): return .singleton(name)
        case (.auditLog?, _): return .auditLog
        case (_, .value?): return .value(name)
        case (_, .nested?):
            let children = try String.fetchAll(
                db,
                sql: "SELECT name FROM shape WHERE substr(name, 1, ?) = ? ORDER BY ord",
                arguments: [name.utf8.count + 1, name + "."]
            )
            throw ReplicaError(.invalidName, "\(name) holds collections: use \(children.joined(separator: ", "))")
        case (.records?, _), (.nestedRecords?, _):
            if shape == nil, let value, value.objectValue == nil { return .value(name) }
            return .collection(name)
        case (nil, nil) where value.map { $0.objectValue == nil } == true && CollectionName.isValueKey(name):
            return .value(name)
        default:
            throw ReplicaError(
                .invalidName,
                "\(name) is not a valid collection name (one or two names joined by '.', each a letter then letters, digits or '_', 64 at most; _sync… is reserved)"
            )
        }
    }

    /// Reads a record (with its metadata), a collection's live records, a singleton or a value.
    public func get(_ name: String, id: String? = nil, includeDeleted: Bool = false) async throws -> JSONValue {
        try await read { db in
            let target = try self.target(name, in: db)
            if let id {
                let collection: String
                switch target {
                case .collection(let name), .singleton(let name): collection = name
                case .auditLog: collection = CollectionName.auditLog
                case .value(let key): throw ReplicaError(.badData, "\(key) is a single value and has no records")
                }
                guard let version = try StoredRecord.version(db, collection: collection, id: id) else {
                    throw ReplicaError(.notFound, "no record \(collection)/\(id)")
                }
                return .object(version.record)
            }
            switch target {
            case .collection(let collection):
                let filter = includeDeleted ? "WHERE collection = ? ORDER BY id" : Replica.liveInOrder
                let bodies = try String.fetchAll(db, sql: "SELECT body FROM record \(filter)", arguments: [collection])
                return .array(try bodies.map { .object(try StoredRecord.parseBody($0)) })
            case .singleton(let collection):
                return .object(try Replica.fields(db, collection: collection, order: try Replica.layout(db).fields[collection] ?? []))
            case .value(let key):
                guard let value = try Replica.value(db, key: key) else {
                    throw ReplicaError(.notFound, "no value \(key)")
                }
                return value
            case .auditLog:
                var writer = JSONWriter()
                try Replica.writeAuditLog(db, into: &writer)
                return try JSONParser().parse(writer.bytes)
            }
        }
    }

    /// A full upsert. A collection record without an id gets one in the app's
    /// `genId` style; a put on a deleted record restores it. For `farm` and
    /// `settings` the object replaces all fields; for a value, the value.
    ///
    /// - Returns: the record's collection, id and what happened.
    @discardableResult
    public func put(_ name: String, _ value: JSONValue) async throws -> (collection: String, id: String, outcome: PutOutcome) {
        try await write { transaction in
            switch try self.target(name, for: value, in: transaction.db) {
            case .collection(let collection):
                guard case .object(var object) = value else {
                    throw ReplicaError(.badData, "a record of \(collection) must be a JSON object, not a \(value.typeName)")
                }
                let id: String
                switch object["id"] {
                case nil, .null?:
                    id = RecordID.generate(now: transaction.wallClock)
                    object = JSONObject(uniqueEntries: [("id", .string(id))] + object.entries.filter { $0.key != "id" })
                default:
                    do throws(EggloguCore.RecordError) {
                        id = try RecordVersion.recordID(of: object)
                    } catch {
                        throw ReplicaError(.badData, error.message)
                    }
                }
                return (collection, id, try transaction.put(object, id: id, in: collection))
            case .singleton(let collection):
                guard case .object(let object) = value else {
                    throw ReplicaError(.badData, "\(collection) must be a JSON object, not a \(value.typeName)")
                }
                var changed = false
                for (field, fieldValue) in object {
                    let outcome = try transaction.put(FieldRecord.make(name: field, value: fieldValue), id: field, in: collection)
                    changed = changed || outcome != .unchanged
                }
                let live = try String.fetchAll(
                    transaction.db,
                    sql: "SELECT id FROM record WHERE collection = ? AND deleted_at IS NULL",
                    arguments: [collection]
                )
                for field in live where object[field] == nil {
                    _ = try transaction.delete(id: field, in: collection)
                    changed = true
                }
                return (collection, collection, changed ? .updated : .unchanged)
            case .value(let key):
                let outcome = try transaction.put(FieldRecord.make(name: key, value: value), id: key, in: CollectionName.values)
                return (CollectionName.values, key, outcome)
            case .auditLog:
                guard case .object(let object) = value else {
                    throw ReplicaError(.badData, "an auditLog entry must be a JSON object")
                }
                let entry: (id: String, content: JSONObject)
                do throws(EggloguCore.RecordError) {
                    entry = try AuditEntry.stored(object)
                } catch {
                    throw ReplicaError(.badData, error.message)
                }
                if try transaction.stored(CollectionName.auditLog, entry.id) != nil {
                    return (CollectionName.auditLog, entry.id, .unchanged)
                }
                let version = RecordVersion(id: entry.id, content: entry.content, updatedAt: .epoch, origin: "")
                try transaction.apply(version, in: CollectionName.auditLog, source: .local)
                return (CollectionName.auditLog, entry.id, .created)
            }
        }
    }

    /// A soft delete: the record stays (for undo) with `_deletedAt` set.
    /// For `farm` and `settings` the id is the field; a value takes no id.
    @discardableResult
    public func delete(_ name: String, id: String?) async throws -> DeleteOutcome {
        try await write { transaction in
            switch try self.target(name, in: transaction.db) {
            case .collection(let collection), .singleton(let collection):
                guard let id else { throw ReplicaError(.badData, "delete \(collection) needs an id") }
                return try transaction.delete(id: id, in: collection)
            case .value(let key):
                guard id == nil else { throw ReplicaError(.badData, "\(key) is a single value and takes no id") }
                return try transaction.delete(id: key, in: CollectionName.values)
            case .auditLog:
                throw ReplicaError(.badData, "auditLog is append-only: its entries cannot be deleted")
            }
        }
    }
}

extension ReplicaTransaction {
    /// Stores `content` as a new local version of `collection/id` unless it is unchanged.
    mutating func put(_ content: JSONObject, id: String, in collection: String) throws -> PutOutcome {
        let clean = content.filter(keys: { !SyncField.isMetadata($0) })
        let row = try stored(collection, id)
        if let row, !row.info.isDeleted, row.info.contentHash == ContentHash.of(clean) {
            return .unchanged
        }
        let version = LocalWrite.put(id: id, content: clean, base: row?.info, device: device, stamp: try stamp())
        try apply(version, in: collection, source: .local)
        guard let row else { return .created }
        return row.info.isDeleted ? .restored : .updated
    }

    mutating func delete(id: String, in collection: String) throws -> DeleteOutcome {
        guard let current = try version(collection, id) else {
            throw ReplicaError(.notFound, "no record \(collection)/\(id)")
        }
        if current.isDeleted { return .alreadyDeleted }
        try apply(LocalWrite.delete(current, device: device, stamp: try stamp()), in: collection, source: .local)
        return .deleted
    }
}
