import EggloguCore
import EggloguJSON
import EggloguProtocol

/// A parser of untrusted bytes, and the properties its answers must have whatever the input.
///
/// Each target refuses bad input with an error, never a crash, and what it accepts survives a
/// round trip through the project's own writers. libFuzzer drives these through `egglogu-fuzz`
/// (`scripts/fuzz`); the committed corpus and every past finding replay in the test suite.
public enum FuzzTarget: String, CaseIterable, Sendable {
    /// ``JSONParser``, and the compact, pretty and canonical writers on what it accepts.
    case json
    /// An MQTT notice payload, and the changes one may carry.
    case notice
    /// A delta push body as the server reads it, record by record.
    case push
    /// A pull answer as an agent reads it, record by record.
    case pull
    /// A body of the app's own `POST /api/v1/sync`: a delta of entity lists, or a whole blob.
    case legacy
    /// The app's `egglogu_data` blob as an import decodes it.
    case blob

    /// Runs `input` through the target.
    ///
    /// - Returns: whether the parser accepted the input (a refusal is a fine answer).
    /// - Throws: a ``FuzzFinding`` when an answer breaks a property (a crash is a finding too).
    @discardableResult
    public func run(_ input: [UInt8]) throws(FuzzFinding) -> Bool {
        switch self {
        case .json: return try Self.json(input)
        case .notice: return try Self.notice(input)
        case .push:
            guard let value = try? JSONParser().parse(input), let request = try? PushRequest(json: value) else { return false }
            try Self.records(request.changes)
        case .pull:
            guard let value = try? JSONParser().parse(input), let response = try? SyncResponse(json: value) else { return false }
            try Self.records(response.changes)
        case .legacy: return try Self.legacy(input)
        case .blob:
            guard let value = try? JSONParser().parse(input) else { return false }
            return try Self.blob(value)
        }
        return true
    }

    private static func json(_ input: [UInt8]) throws(FuzzFinding) -> Bool {
        guard let value = try? JSONParser().parse(input) else { return false }
        // The canonical text is a hash's input, not a document (a number out of a double's range is
        // written `inf` there): it must only be the same for values that read back equal.
        let canonical = value.serialized(.canonical)
        for style in [JSONWriter.Style.compact, .pretty] {
            guard let again = try? JSONParser().parse(value.serialized(style)) else {
                throw FuzzFinding("the \(style) text of an accepted document does not parse")
            }
            guard again == value else { throw FuzzFinding("the \(style) text reads back as another value") }
            guard again.serialized(.canonical) == canonical else {
                throw FuzzFinding("the \(style) text reads back with other canonical text")
            }
        }
        _ = ContentHash.of(value)
        return true
    }

    private static func notice(_ input: [UInt8]) throws(FuzzFinding) -> Bool {
        guard let notice = try? Notice(bytes: input) else { return false }
        guard let changes = notice.changes else { return true }
        guard notice.before != nil else { throw FuzzFinding("a notice carries changes without the cursor before them") }
        try records(changes)
        return true
    }

    private static func legacy(_ input: [UInt8]) throws(FuzzFinding) -> Bool {
        guard let value = try? JSONParser().parse(input), let request = try? LegacySyncRequest(json: value) else { return false }
        switch request {
        case .blob(let body): return try blob(.object(body))
        case .delta(_, let data):
            for (entity, list) in data {
                guard LegacyEntity.collections[entity] != nil, case .array(let values) = list else { continue }
                for value in values { try version(value) }
            }
            return true
        }
    }

    private static func blob(_ value: JSONValue) throws(FuzzFinding) -> Bool {
        guard let decoded = try? BlobDecoder().decode(value) else { return false }
        for group in decoded.groups {
            guard CollectionName.kind(of: group.collection) != nil else {
                throw FuzzFinding("a blob decoded into the unacceptable collection \(group.collection)")
            }
        }
        _ = BlobLayout(of: decoded)
        return true
    }

    private static func records(_ changes: [CollectionChanges]) throws(FuzzFinding) {
        for change in changes {
            for value in change.records {
                if change.collection == CollectionName.conflictArchive {
                    guard let entry = try? ConflictEntry(record: value) else { continue }
                    guard (try? ConflictEntry(record: .object(entry.record))) == entry else {
                        throw FuzzFinding("a conflict entry does not read back as itself")
                    }
                } else {
                    try version(value)
                }
            }
        }
    }

    /// A record that reads as a version must read back as the same version from its stored text.
    private static func version(_ value: JSONValue) throws(FuzzFinding) {
        guard let version = try? RecordVersion(record: value) else { return }
        guard let text = try? JSONParser().parse(version.recordText) else {
            throw FuzzFinding("the stored text of record \(version.id) does not parse")
        }
        guard (try? RecordVersion(record: text)) == version else {
            throw FuzzFinding("record \(version.id) does not read back as itself from its stored text")
        }
    }
}

/// A property a ``FuzzTarget`` broke.
public struct FuzzFinding: Error, CustomStringConvertible {
    public let description: String

    init(_ description: String) {
        self.description = description
    }
}
