import EggloguJSON

/// Splits a blob by its shape, remembering what earlier imports established.
///
/// - A top-level array whose elements are all objects with a string `id` (or an
///   empty one) is a collection; an object whose values are all such arrays
///   gives nested collections `parent.child`.
/// - `farm` and `settings` are singletons, `auditLog` is the audit log.
/// - Everything else is a value. A key keeps the kind it first had, except that
///   a collection that never held a record may turn out to be a value.
/// - An array that is a collection (known as one, or whose other elements have
///   ids) with an element that is not an object with an id is an error.
public struct BlobDecoder: Sendable {
    /// Kinds recorded by earlier imports and merges.
    public var known: [String: ShapeKind]
    /// Collections that hold at least one record: their kind is settled.
    public var settledCollections: Set<String>

    /// A decoder that respects the kinds earlier imports and merges established.
    public init(known: [String: ShapeKind] = [:], settledCollections: Set<String> = []) {
        self.known = known
        self.settledCollections = settledCollections
    }

    /// Splits `blob` into groups of records, or names the first value that cannot be imported.
    public func decode(_ blob: JSONValue) throws(BlobError) -> DecodedBlob {
        guard case .object(let top) = blob else {
            throw BlobError(path: "$", "an egglogu_data blob must be a JSON object, not a \(blob.typeName)")
        }
        var out = DecodedBlob()
        var values: [JSONObject] = []
        for (key, value) in top {
            let path = "$" + BlobDecoder.pathComponent(key)
            out.presentKeys.insert(key)
            if key == CollectionName.conflictArchive {
                guard case .array(let entries) = value else {
                    throw BlobError(path: path, "the conflict archive must be an array")
                }
                out.archive = entries
                continue
            }
            if CollectionName.isReservedKey(key) {
                throw BlobError(path: path, "top-level names starting with _sync are reserved for the sync layer")
            }
            if CollectionName.singletons.contains(key) {
                guard case .object(let fields) = value else {
                    throw BlobError(path: path, "\(key) must be an object, not a \(value.typeName)")
                }
                out.shapes.append((key, .singleton))
                out.groups.append(.init(collection: key, records: fields.map { FieldRecord.make(name: $0.key, value: $0.value) }))
                continue
            }
            if key == CollectionName.auditLog {
                out.shapes.append((key, .auditLog))
                out.groups.append(.init(collection: key, records: try auditEntries(value, path: path)))
                continue
            }
            switch try classify(name: key, value: value, path: path, nestable: true) {
            case .records(let records):
                out.shapes.append((key, .collection))
                out.recordGroups.insert(key)
                out.groups.append(.init(collection: key, records: records))
            case .value:
                out.shapes.append((key, .value))
                values.append(FieldRecord.make(name: key, value: value))
            case .nested(let children):
                out.shapes.append((key, .nested))
                for (child, childValue) in children {
                    let name = key + "." + child
                    let childPath = path + BlobDecoder.pathComponent(child)
                    switch try classify(name: name, value: childValue, path: childPath, nestable: false) {
                    case .records(let records):
                        out.shapes.append((name, .collection))
                        out.recordGroups.insert(name)
                        out.groups.append(.init(collection: name, records: records))
                    case .value, .nested:
                        out.shapes.append((name, .value))
                        values.append(FieldRecord.make(name: name, value: childValue))
                    }
                }
            }
        }
        out.groups.append(.init(collection: CollectionName.values, records: values))
        return out
    }

    private enum Classification {
        case records([JSONObject])
        case nested(JSONObject)
        case value
    }

    private func classify(name: String, value: JSONValue, path: String, nestable: Bool) throws(BlobError) -> Classification {
        let knownKind = known[name]
        let settled = settledCollections.contains(name)
        let usable: Bool
        switch CollectionName.kind(of: name) {
        case .records?: usable = nestable
        case .nestedRecords?: usable = !nestable
        default: usable = false
        }
        switch value {
        case .array(let elements):
            if knownKind == .nested && holdsNestedRecords(name) {
                throw BlobError(path: path, "\(name) held collections and is now an array")
            }
            guard usable, knownKind != .value else { return .value }
            if elements.isEmpty { return .records([]) }
            let withID = elements.reduce(0) { $0 + (BlobDecoder.hasID($1) ? 1 : 0) }
            if withID == 0 && !(knownKind == .collection && settled) { return .value }
            return .records(try records(of: elements, name: name, path: path))
        case .object(let object):
            if knownKind == .collection && settled {
                throw BlobError(path: path, "\(name) was a collection and is now an object")
            }
            guard nestable, usable, knownKind != .value else { return .value }
            if knownKind == .nested { return .nested(object) }
            guard !object.isEmpty, object.allSatisfy({ BlobDecoder.looksLikeRecordArray($0.value) }) else { return .value }
            return .nested(object)
        default:
            if knownKind == .collection && settled {
                throw BlobError(path: path, "\(name) was a collection and is now a \(value.typeName)")
            }
            if knownKind == .nested && holdsNestedRecords(name) {
                throw BlobError(path: path, "\(name) held collections and is now a \(value.typeName)")
            }
            return .value
        }
    }

    /// The records of a collection array, checked; identical duplicates are dropped.
    private func records(of elements: [JSONValue], name: String, path: String) throws(BlobError) -> [JSONObject] {
        var records: [JSONObject] = []
        records.reserveCapacity(elements.count)
        var seen: [String: Int] = [:]
        for (n, element) in elements.enumerated() {
            let elementPath = "\(path)[\(n)]"
            guard case .object(let record) = element else {
                throw BlobError(
                    path: elementPath,
                    "\(element.typeName) in collection \(name), where every element must be an object with a string \"id\""
                )
            }
            let id: String
            do throws(RecordError) {
                id = try RecordVersion.recordID(of: record)
                _ = try RecordMetadata(of: record)
            } catch {
                throw BlobError(path: elementPath, "\(error.message) (collection \(name))")
            }
            if let first = seen[id] {
                guard ContentHash.of(records[first]) == ContentHash.of(record) else {
                    throw BlobError(
                        path: elementPath,
                        "duplicate id \(id) (also at \(path)[\(first)]) with different content"
                    )
                }
                continue
            }
            seen[id] = records.count
            records.append(record)
        }
        return records
    }

    private func holdsNestedRecords(_ parent: String) -> Bool {
        settledCollections.contains { $0.hasPrefix(parent + ".") }
    }

    private func auditEntries(_ value: JSONValue, path: String) throws(BlobError) -> [JSONObject] {
        guard case .array(let elements) = value else {
            throw BlobError(path: path, "auditLog must be an array, not a \(value.typeName)")
        }
        var seen: Set<String> = []
        var out: [JSONObject] = []
        for (n, element) in elements.enumerated() {
            guard case .object(let entry) = element else {
                throw BlobError(path: "\(path)[\(n)]", "auditLog entry is a \(element.typeName), not an object")
            }
            let stored: (id: String, content: JSONObject)
            do throws(RecordError) {
                stored = try AuditEntry.stored(entry)
            } catch {
                throw BlobError(path: "\(path)[\(n)]", "\(error.message) (auditLog)")
            }
            if seen.insert(stored.id).inserted { out.append(stored.content) }
        }
        return out
    }

    /// Whether `value` is an object with a usable id (a string, or an integer as older app data has).
    static func hasID(_ value: JSONValue) -> Bool {
        guard case .object(let o) = value else { return false }
        switch o["id"] {
        case .string(let id)?: return !id.isEmpty
        case .number(let n)?: return n.intValue != nil
        default: return false
        }
    }

    /// An empty array, or one where some element has an id (and so every element must).
    static func looksLikeRecordArray(_ value: JSONValue) -> Bool {
        guard case .array(let elements) = value else { return false }
        return elements.isEmpty || elements.contains(where: hasID)
    }

    /// `.name` for plain identifiers, `["name"]` otherwise.
    static func pathComponent(_ key: String) -> String {
        let plain =
            !key.isEmpty
            && key.unicodeScalars.allSatisfy { $0 == "_" || $0 == "$" || ($0.isASCII && $0.properties.isAlphabetic) || ("0"..."9").contains($0) }
        return plain ? "." + key : "[" + JSONValue.string(key).jsonText() + "]"
    }
}
