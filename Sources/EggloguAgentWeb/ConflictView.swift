import EggloguCore
import EggloguJSON

/// A conflict as the page shows it: both versions with who wrote them, and a field-by-field diff.
///
/// "mine" is the archived version (what Keep Mine republishes), "theirs" the one that won.
struct ConflictView {
    let entry: ConflictEntry

    var json: JSONValue {
        let fields: [JSONValue] = entry.fieldDiff.map { row in
            var object = JSONObject(uniqueEntries: [("field", .string(row.field))])
            if let mine = row.mine { object["mine"] = mine }
            if let theirs = row.theirs { object["theirs"] = theirs }
            object["differs"] = .bool(row.differs)
            return .object(object)
        }
        let resolution: JSONValue =
            entry.resolution.map { resolution in
                ["choice": .string(resolution.choice.rawValue), "at": .string(resolution.at.iso8601), "by": .string(resolution.by)]
            } ?? .null
        return [
            "id": .string(entry.id),
            "collection": .string(entry.collection),
            "recordId": .string(entry.recordID),
            "kind": .string(entry.kind.rawValue),
            "resolved": .bool(entry.isResolved),
            "resolution": resolution,
            "updatedAt": .string(entry.updatedAt.iso8601),
            "mine": Self.side(entry.loser),
            "theirs": Self.side(entry.winner),
            "fields": .array(fields),
        ]
    }

    private static func side(_ version: RecordVersion) -> JSONValue {
        [
            "deleted": .bool(version.isDeleted), "by": .string(version.info.origin),
            "at": .string(version.info.updatedAt.iso8601), "record": .object(version.content),
        ]
    }
}
