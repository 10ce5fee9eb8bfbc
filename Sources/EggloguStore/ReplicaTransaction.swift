import EggloguCore
import EggloguJSON
import Foundation
import GRDB

/// Where a version comes from, which decides whether it still has to be pushed.
enum ChangeSource {
    /// Made on this replica (an edit, an import, a conflict filed here): queued for pushing.
    case local
    /// Received from upstream: the server has it already.
    case remote
}

/// What applying a version did to the stored record.
enum ApplyOutcome: Equatable {
    /// The version became the stored one.
    case applied
    /// It was stored already.
    case unchanged
    /// A higher version is stored; the incoming one lost.
    case superseded
}

/// Whether a caller of ``ReplicaTransaction/apply(_:in:source:concurrent:current:)`` already read the stored row.
enum StoredRow {
    case unread
    /// Read in this transaction, nothing written to the record since (nil: no row).
    case read(StoredRecord?)
}

/// Thrown inside a write transaction when the clock cannot stamp yet: the transaction rolls back
/// and runs again after this many milliseconds.
struct ClockWait: Error {
    let milliseconds: Int64
}

/// The context of one write transaction: clock, change sequence and shapes.
///
/// Every change to `record` goes through ``apply(_:in:source:)`` or
/// ``file(_:source:)``, so every change gets a sequence number, every merge
/// uses the one merge rule, and every conflict is archived.
struct ReplicaTransaction {
    let db: Database
    let device: String
    let configuration: ReplicaConfiguration
    private(set) var clock: HybridLogicalClock
    private let initialHigh: Timestamp
    private var issued: Timestamp?
    /// How long earlier attempts of this transaction waited for the clock.
    private let clockWaited: Int64
    private(set) var wallClockBehind = false
    private var nextSeq: Int64
    private let firstSeq: Int64
    private var shapes: [String: ShapeKind]?
    private var nextOrd: Int64 = 0
    /// Rows written in this transaction.
    private(set) var changes = 0
    /// Conflict entries created in this transaction.
    private(set) var conflictsFiled = 0
    /// Rows written in this transaction that wait to be pushed.
    private(set) var queuedChanges = 0
    /// The kind of the last conflict entry created.
    private(set) var lastConflictKind: ConflictKind?
    /// Keys and fields that local writes added, for the layout record.
    private var layoutAdditions = BlobLayout()
    private let statements: RecordStatements

    init(db: Database, replica: Replica, clockWaited: Int64 = 0) throws {
        self.db = db
        self.statements = RecordStatements(db)
        self.clockWaited = clockWaited
        self.device = replica.deviceID
        self.configuration = replica.configuration
        let high = try Meta.get(db, .clockHigh).flatMap { Int64($0) }.map(Timestamp.init(milliseconds:)) ?? .epoch
        self.clock = HybridLogicalClock(high: high, maxSkewMilliseconds: replica.configuration.maxClockSkewMilliseconds)
        self.initialHigh = high
        self.nextSeq = try Replica.head(db) + 1
        self.firstSeq = nextSeq
    }

    var wallClock: Timestamp { configuration.wallClock() }

    /// The latest instant an incoming timestamp may carry.
    var futureLimit: Timestamp { clock.futureLimit(wallClock: wallClock) }

    /// This transaction's one local stamp, taken on first use.
    ///
    /// - Throws: ``ClockWait`` when the clock needs a moment first; ``Replica/write(_:)`` then
    ///   rolls back, waits outside the transaction, and runs it again.
    mutating func stamp() throws -> Timestamp {
        if let issued { return issued }
        let wall = wallClock
        switch clock.next(wallClock: wall) {
        case .stamp(let t, let behind):
            return take(t, behind: behind)
        case .wait(let ms) where clockWaited + ms <= HybridLogicalClock.maxWaitMilliseconds:
            throw ClockWait(milliseconds: ms)
        case .wait:
            // The wall clock did not move while we waited: it is stuck, so it cannot be trusted.
            return take(max(wall, clock.high.adding(milliseconds: 1)), behind: true)
        }
    }

    private mutating func take(_ t: Timestamp, behind: Bool) -> Timestamp {
        clock.observe(t)
        issued = t
        wallClockBehind = behind
        return t
    }

    /// Makes later stamps exceed `timestamp`.
    mutating func observe(_ timestamp: Timestamp) {
        clock.observe(timestamp)
    }

    func stored(_ collection: String, _ id: String) throws -> StoredRecord? {
        try StoredRecord.fetch(statements.lookupStatement(), collection: collection, id: id)
    }

    func version(_ collection: String, _ id: String) throws -> RecordVersion? {
        try StoredRecord.version(db, collection: collection, id: id)
    }

    /// Merges `incoming` into the stored record with the one merge rule.
    ///
    /// - Parameters:
    ///   - concurrent: the caller knows `incoming` was made without seeing the stored version, so
    ///     the loser is archived whatever the vectors say.
    ///   - current: the stored row, when the caller read it in this transaction and wrote nothing
    ///     to the record since (an import reads every row first).
    @discardableResult
    mutating func apply(
        _ incoming: RecordVersion,
        in collection: String,
        source: ChangeSource,
        concurrent: Bool = false,
        current: StoredRow = .unread
    ) throws -> ApplyOutcome {
        clock.observe(incoming.info.updatedAt)
        let row: StoredRecord?
        switch current {
        case .unread: row = try stored(collection, incoming.id)
        case .read(let known): row = known
        }
        let decision = MergeDecision(stored: row?.info, incoming: incoming.info, concurrent: concurrent)
        switch decision.outcome {
        case .duplicate:
            if source == .remote && row!.dirty {
                try db.cachedStatement(sql: "UPDATE record SET dirty = 0 WHERE collection = ? AND id = ?")
                    .execute(arguments: [collection, incoming.id])
            }
            return .unchanged
        case .keepStored:
            if decision.archives(in: collection), let stored = try version(collection, incoming.id),
                let entry = decision.archiveEntry(collection: collection, stored: stored, incoming: incoming)
            {
                try file(entry, source: .local)
            }
            return .superseded
        case .takeIncoming:
            // The stored version is read (and parsed) only when it is to be archived.
            let stored = decision.archives(in: collection) ? try version(collection, incoming.id) : nil
            try write(
                collection: collection,
                id: incoming.id,
                body: incoming.recordText,
                info: incoming.info,
                dirty: source == .local
            )
            try registerShape(of: collection, id: incoming.id, source: source, layout: incoming)
            if let stored, let entry = decision.archiveEntry(collection: collection, stored: stored, incoming: incoming) {
                try file(entry, source: .local)
            }
            return .applied
        }
    }

    /// Adds an entry to the conflict archive, joined with any entry of the same id.
    ///
    /// - Returns: the entry as stored now.
    @discardableResult
    mutating func file(_ entry: ConflictEntry, source: ChangeSource) throws -> ConflictEntry {
        clock.observe(entry.updatedAt)
        let collection = CollectionName.conflictArchive
        let merged: ConflictEntry
        if let row = try stored(collection, entry.id) {
            let existing = try ConflictEntry(record: .object(StoredRecord.body(db, collection: collection, id: entry.id)))
            merged = existing.joined(with: entry)
            if merged == existing {
                if source == .remote && merged == entry && row.dirty {
                    try db.cachedStatement(sql: "UPDATE record SET dirty = 0 WHERE collection = ? AND id = ?")
                        .execute(arguments: [collection, entry.id])
                }
                return existing
            }
        } else {
            merged = entry
            conflictsFiled += 1
            lastConflictKind = entry.kind
        }
        let record = merged.record
        let info = ConflictEntry.storedInfo(of: record, updatedAt: merged.updatedAt)
        try write(
            collection: collection,
            id: merged.id,
            body: JSONValue.object(record).serialized(),
            info: info,
            dirty: source == .local || merged != entry
        )
        return merged
    }

    private mutating func write(
        collection: String,
        id: String,
        body: [UInt8],
        info: VersionInfo,
        dirty: Bool
    ) throws {
        let raw = try statements.upsertStatement()
        raw.reset()
        defer { raw.reset() }
        try raw.bind(1, collection)
        try raw.bind(2, id)
        try body.withUnsafeBufferPointer { try raw.bind(3, $0) }
        try raw.bind(4, info.contentHash)
        try raw.bind(5, info.updatedAt.milliseconds)
        try raw.bind(6, info.deletedAt?.milliseconds)
        try raw.bind(7, info.origin)
        try raw.bind(8, VectorColumn.encode(info.vector))
        try raw.bind(9, Int64(info.generation))
        try raw.bind(10, nextSeq)
        try raw.bind(11, dirty && configuration.role == .device ? 1 : 0)
        _ = try raw.step()
        if CollectionName.singletons.contains(collection) {
            try recordFieldHistory(collection: collection, id: id, info: info)
        }
        nextSeq += 1
        changes += 1
        if dirty && configuration.role == .device { queuedChanges += 1 }
    }

    /// Keeps the last versions of each `farm`/`settings` field by sequence number: the app's web
    /// client gets the farm without sync metadata, so what it saw is found from its cursor.
    private func recordFieldHistory(collection: String, id: String, info: VersionInfo) throws {
        try db.cachedStatement(sql: "INSERT INTO field_history (collection, id, seq, hash, deleted) VALUES (?, ?, ?, ?, ?)")
            .execute(arguments: [collection, id, nextSeq, info.contentHash, info.isDeleted])
        try db.cachedStatement(
            sql: """
                DELETE FROM field_history WHERE collection = ? AND id = ? AND seq <= (
                  SELECT seq FROM field_history WHERE collection = ? AND id = ? ORDER BY seq DESC LIMIT 1 OFFSET ?)
                """
        ).execute(arguments: [collection, id, collection, id, Self.fieldHistoryDepth])
    }

    /// Versions of one field kept in the history.
    static let fieldHistoryDepth = 64

    // MARK: Shapes

    /// The kinds of top-level keys and nested children this replica knows.
    mutating func knownShapes() throws -> [String: ShapeKind] {
        if let shapes { return shapes }
        var loaded: [String: ShapeKind] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT name, kind FROM shape") {
            if let kind = ShapeKind(rawValue: row["kind"]) { loaded[row["name"]] = kind }
        }
        nextOrd = (try Int64.fetchOne(db, sql: "SELECT max(ord) FROM shape") ?? 0) + 1
        shapes = loaded
        return loaded
    }

    /// Records the kind of `name`; an import may change a kind, a merge only adds.
    mutating func setShape(_ name: String, _ kind: ShapeKind, replacing: Bool) throws {
        let known = try knownShapes()
        if let current = known[name] {
            guard replacing, current != kind else { return }
            try db.cachedStatement(sql: "UPDATE shape SET kind = ? WHERE name = ?").execute(arguments: [kind.rawValue, name])
        } else {
            try db.cachedStatement(sql: "INSERT INTO shape (name, kind, ord) VALUES (?, ?, ?)")
                .execute(arguments: [name, kind.rawValue, nextOrd])
            nextOrd += 1
        }
        shapes![name] = kind
    }

    /// Remembers the kind of a stored record's container; local writes also extend the layout.
    private mutating func registerShape(of collection: String, id: String, source: ChangeSource, layout: RecordVersion) throws {
        // A known collection of records (a merge's common case): it and its parent are noted already.
        if try knownShapes()[collection] == .collection { return }
        var added: [BlobLayout.Key] = []
        func note(_ name: String, _ kind: ShapeKind) throws {
            guard try knownShapes()[name] == nil else { return }
            added.append(BlobLayout.Key(name: name, kind: kind))
            try setShape(name, kind, replacing: false)
        }
        switch CollectionName.kind(of: collection) {
        case .records?: try note(collection, .collection)
        case .nestedRecords(let parent, _)?:
            try note(parent, .nested)
            try note(collection, .collection)
        case .singleton?:
            try note(collection, .singleton)
            if source == .local && configuration.role == .device {
                layoutAdditions = layoutAdditions.extended(with: BlobLayout(fields: [collection: [id]]))
            }
        case .auditLog?: try note(collection, .auditLog)
        case .values?:
            if let dot = id.firstIndex(of: "."), try knownShapes()[id] == nil {
                try note(String(id[..<dot]), .nested)
            }
            try note(id, .value)
        case .layout?:
            for key in BlobLayout(content: layout.content).keys {
                try setShape(key.name, key.kind, replacing: false)
            }
        case .conflictArchive?, nil: break
        }
        if source == .local && configuration.role == .device && !added.isEmpty {
            layoutAdditions = layoutAdditions.extended(with: BlobLayout(keys: added))
        }
    }

    /// The stored layout (empty when there is none).
    func currentLayout() throws -> BlobLayout {
        guard let record = try version(CollectionName.layout, BlobLayout.recordID), !record.isDeleted else { return BlobLayout() }
        return BlobLayout(content: record.content)
    }

    /// Stores `layout` followed by what the stored one has beyond it, unless nothing changes.
    mutating func writeLayout(_ layout: BlobLayout) throws {
        let current = try currentLayout()
        let merged = layout.extended(with: current)
        guard merged != current else { return }
        let row = try stored(CollectionName.layout, BlobLayout.recordID)
        let version = LocalWrite.put(
            id: BlobLayout.recordID,
            content: merged.content,
            base: row?.info,
            device: device,
            stamp: try stamp()
        )
        try apply(version, in: CollectionName.layout, source: .local)
    }

    /// The newest sequence number, this transaction's changes included.
    var headSequence: Int64 { nextSeq - 1 }

    /// Persists the clock's high-water mark and when this transaction's changes arrived; called once, at commit.
    mutating func finish() throws {
        if layoutAdditions != BlobLayout() {
            let additions = layoutAdditions
            layoutAdditions = BlobLayout()
            try writeLayout(try currentLayout().extended(with: additions))
        }
        if clock.high > initialHigh {
            try Meta.set(db, .clockHigh, String(clock.high.milliseconds))
        }
        if nextSeq > firstSeq {
            try db.cachedStatement(sql: "INSERT INTO change_time (seq, at) VALUES (?, ?)")
                .execute(arguments: [firstSeq, wallClock.milliseconds])
        }
    }
}
