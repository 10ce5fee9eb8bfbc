import EggloguCore
import EggloguJSON
import GRDB

/// How a legacy record relates to the stored version of its record.
private enum LegacyBase {
    /// It is the stored content: nothing changes.
    case unchanged
    /// It is an unchanged copy of an older version: nothing changes, and the client gets the stored one.
    case stale
    /// An edit of the stored version.
    case stored
    /// An edit of an older version (its vector and generation): concurrent with the stored one.
    case older(VersionVector, Int)
    /// An edit whose ancestry cannot be known: the stored version stays, this one is archived.
    case unknown
}

extension ReplicaTransaction {
    /// Applies a legacy push; see ``Replica/legacyPush(_:)``.
    mutating func legacyPush(_ push: LegacyPush) throws -> LegacyPushResult {
        let position = try legacyPosition(push.since)
        var result = LegacyPushResult()
        switch push.author {
        case .device(let id): result.origin = id
        case .browser(let prefix): result.origin = prefix + position.session
        }
        result.since = position.since
        let changesBefore = changes
        let conflictsBefore = conflictsFiled
        var touched: Set<String> = []
        for group in push.groups {
            var seen: Set<String> = []
            for (index, value) in group.records.enumerated() {
                if try legacyRecord(value, index: index, group: group, position: position, seen: &seen, into: &result) {
                    touched.insert(group.collection)
                }
            }
        }
        var farmChanged = false
        for (index, value) in push.farm.enumerated() {
            guard case .object(let fields) = value else {
                result.issues.append(
                    .init(
                        label: push.farmLabel,
                        id: nil,
                        index: index,
                        kind: .rejected(EggloguCore.RecordError(.notObject, "the farm is a \(value.typeName), not an object"))
                    )
                )
                continue
            }
            for (name, fieldValue) in fields where LegacyFarm.isField(name) {
                if try legacyFarmField(name, fieldValue, label: push.farmLabel, index: index, position: position, into: &result) {
                    farmChanged = true
                }
            }
        }
        if farmChanged {
            result.synced += 1
            touched.insert(LegacyFarm.collection)
        }
        if try removeJunkFarmFields() { touched.insert(LegacyFarm.collection) }
        result.changed = changes - changesBefore
        result.conflicts = conflictsFiled - conflictsBefore
        result.changedCollections = touched.sorted()
        result.head = headSequence
        result.token = try issueLegacyToken(head: result.head, session: position.session, parent: position.token)
        return result
    }

    /// One record of a group; true when it changed the stored record.
    private mutating func legacyRecord(
        _ value: JSONValue,
        index: Int,
        group: LegacyPush.Group,
        position: LegacyPosition,
        seen: inout Set<String>,
        into result: inout LegacyPushResult
    ) throws -> Bool {
        func reject(_ error: EggloguCore.RecordError, id: String? = nil) {
            result.issues.append(.init(label: group.label, id: id ?? error.id, index: index, kind: .rejected(error)))
        }
        guard case .object(let record) = value else {
            reject(EggloguCore.RecordError(.notObject, "record is a \(value.typeName), not an object"))
            return false
        }
        let id: String
        let meta: RecordMetadata
        do throws(EggloguCore.RecordError) {
            id = try RecordVersion.recordID(of: record)
            meta = try RecordMetadata(of: record)
        } catch {
            reject(error)
            return false
        }
        guard seen.insert(id).inserted else {
            reject(EggloguCore.RecordError(.badID, id: id, "record id \(id) appears twice in this push"), id: id)
            return false
        }
        let copy = RecordVersion(id: id, content: record, updatedAt: .epoch, origin: result.origin)
        let row = try stored(group.collection, id)
        let base: LegacyBase
        if let row {
            base = legacyBase(of: copy.info.contentHash, meta: meta, row: row, position: position)
        } else if meta.describesSyncedVersion {
            base = .older(meta.vector!.capped(at: futureLimit), meta.generation ?? 0)
        } else {
            base = .older(VersionVector(), 0)
        }
        return try applyLegacy(copy, base: base, row: row, collection: group.collection, label: group.label, index: index, into: &result)
    }

    private func legacyBase(of hash: String, meta: RecordMetadata, row: StoredRecord, position: LegacyPosition) -> LegacyBase {
        if row.info.contentHash == hash { return .unchanged }
        if meta.contentHash == hash { return .stale }
        let namesStored = meta.origin == row.info.origin && meta.updatedAt == row.info.updatedAt
        // Its own earlier push is never sent back to it, so its metadata still names that push's base.
        let ownEarlierPush = position.isExact && row.seq <= position.since
        if !row.info.isDeleted && (namesStored || ownEarlierPush) { return .stored }
        if meta.describesSyncedVersion && meta.contentHash != nil {
            return .older(meta.vector!.capped(at: futureLimit), meta.generation ?? 0)
        }
        // Deleted elsewhere: the client cannot know, and the deletion wins within its generation.
        if row.info.isDeleted { return .older(VersionVector(), row.info.generation) }
        return .unknown
    }

    /// One field of the farm object; true when it changed the stored field.
    private mutating func legacyFarmField(
        _ name: String,
        _ value: JSONValue,
        label: String,
        index: Int,
        position: LegacyPosition,
        into result: inout LegacyPushResult
    ) throws -> Bool {
        let collection = LegacyFarm.collection
        let copy = RecordVersion(id: name, content: FieldRecord.make(name: name, value: value), updatedAt: .epoch, origin: result.origin)
        let hash = copy.info.contentHash
        let row = try stored(collection, name)
        let base: LegacyBase
        if let row {
            if row.info.contentHash == hash {
                base = .unchanged
            } else if !row.info.isDeleted && position.isExact && row.seq <= position.since {
                base = .stored
            } else if position.isExact, let seen = try fieldHash(collection, name, asOf: position.since) {
                // The field changed after the client's last answer: what it had then tells a stale copy from an edit.
                base = seen == hash ? .stale : .older(VersionVector(), row.info.generation)
            } else if row.info.isDeleted {
                base = .older(VersionVector(), row.info.generation)
            } else {
                base = .unknown
            }
        } else {
            base = .older(VersionVector(), 0)
        }
        return try applyLegacy(copy, base: base, row: row, collection: collection, label: label, index: index, into: &result)
    }

    /// Stores (or archives) one legacy version; true when it became the stored one.
    private mutating func applyLegacy(
        _ copy: RecordVersion,
        base: LegacyBase,
        row: StoredRecord?,
        collection: String,
        label: String,
        index: Int,
        into result: inout LegacyPushResult
    ) throws -> Bool {
        let ref = RecordRef(collection: collection, id: copy.id)
        let filed = conflictsFiled
        defer {
            if conflictsFiled > filed, let kind = lastConflictKind {
                result.issues.append(.init(label: label, id: copy.id, index: index, kind: .conflict(kind)))
            }
        }
        switch base {
        case .unchanged:
            return false
        case .stale:
            if let row, !row.info.isDeleted { result.sendBack.insert(ref) }
            return false
        case .stored:
            let edit = LocalWrite.edit(
                copy,
                deleted: false,
                base: (row!.info.vector, row!.info.generation),
                device: result.origin,
                stamp: try stamp()
            )
            try apply(edit, in: collection, source: .local)
        case .older(let vector, let generation):
            let edit = LocalWrite.edit(copy, deleted: false, base: (vector, generation), device: result.origin, stamp: try stamp())
            guard try apply(edit, in: collection, source: .local, concurrent: row != nil) == .applied else {
                if row?.info.isDeleted == false { result.sendBack.insert(ref) }
                return false
            }
        case .unknown:
            let s = try stamp()
            let archived = copy.restamped(
                updatedAt: s,
                deletedAt: nil,
                origin: result.origin,
                vector: VersionVector([result.origin: s]),
                generation: row!.info.generation
            )
            if let winner = try version(collection, copy.id) {
                try file(ConflictEntry(collection: collection, winner: winner, loser: archived), source: .local)
            }
            result.sendBack.insert(ref)
            return false
        }
        result.own.insert(ref)
        if collection != LegacyFarm.collection { result.synced += 1 }
        return true
    }

    /// Deletes farm fields that are no farm's: the `id`, `value` and metadata keys that older answers
    /// put into clients' farms, which their pushes then stored. True when it deleted any.
    private mutating func removeJunkFarmFields() throws -> Bool {
        let live = try String.fetchAll(
            db.cachedStatement(sql: "SELECT id FROM record WHERE collection = ? AND deleted_at IS NULL"),
            arguments: [LegacyFarm.collection]
        )
        let junk = live.filter { !LegacyFarm.isField($0) }
        for field in junk {
            _ = try delete(id: field, in: LegacyFarm.collection)
        }
        return !junk.isEmpty
    }

    /// The content hash a field had at sequence `seq`, if the history reaches back that far.
    private func fieldHash(_ collection: String, _ id: String, asOf seq: Int64) throws -> String? {
        try String.fetchOne(
            db.cachedStatement(
                sql: "SELECT hash FROM field_history WHERE collection = ? AND id = ? AND seq <= ? ORDER BY seq DESC LIMIT 1"
            ),
            arguments: [collection, id, seq]
        )
    }
}

/// The farm profile as the app's web client sends it: one object whose keys are fields.
enum LegacyFarm {
    static let collection = "farm"

    /// Whether a key of the client's farm object is a farm field. Sync metadata and the `id`/`value`
    /// pair that per-field records once put into clients' farms are not.
    static func isField(_ name: String) -> Bool {
        name != "id" && name != "value" && !SyncField.isMetadata(name) && !name.isEmpty
    }
}
