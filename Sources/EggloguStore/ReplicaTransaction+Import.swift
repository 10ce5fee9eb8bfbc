import EggloguCore
import EggloguJSON
import GRDB

/// The previous import's copy of a record: what the app's copy derives from.
private struct Baseline: Equatable {
    /// Content hash, suffixed `|deleted` for a deletion.
    var key: String
    var vector: String
    var generation: Int
}

extension ReplicaTransaction {
    /// Imports a decoded blob; see ``Replica/importBlob(_:options:)`` for the rules.
    mutating func importBlob(_ blob: JSONValue, options: ImportOptions) throws -> ImportReport {
        let settled = Set(try String.fetchAll(db, sql: "SELECT DISTINCT collection FROM record"))
        let decoded: DecodedBlob
        do {
            decoded = try BlobDecoder(known: knownShapes(), settledCollections: settled).decode(blob)
        } catch let error as BlobError {
            throw ReplicaError(.badData, error.description)
        }
        for (name, kind) in decoded.shapes {
            try setShape(name, kind, replacing: true)
        }
        try writeLayout(BlobLayout(of: decoded))
        let conflictsBefore = conflictsFiled
        var report = ImportReport()
        let scope: String
        switch options.policy {
        case .replica: scope = ""
        case .legacyPush(let device): scope = "legacy:" + device
        }
        var state = ImportState(policy: options.policy, baseline: try loadBaseline(scope: scope))
        let total = decoded.groups.reduce(0) { $0 + $1.records.count }
        var done = 0
        for group in decoded.groups {
            for record in group.records {
                try importRecord(record, collection: group.collection, state: &state, report: &report)
                done += 1
                if done % ImportOptions.progressInterval == 0 { options.progress?(done, total) }
            }
        }
        options.progress?(total, total)
        if options.policy == .replica {
            try removeAbsent(decoded: decoded, state: &state, report: &report)
            if options.prune {
                try prune(decoded: decoded, state: state, report: &report)
            }
        }
        for (n, value) in decoded.archive.enumerated() {
            do {
                try file(ConflictEntry(record: value), source: .local)
            } catch let error as EggloguCore.RecordError {
                throw ReplicaError(.badData, "$._conflictArchive[\(n)]: \(error.message)")
            }
        }
        try saveBaseline(state, scope: scope)
        report.conflicts = conflictsFiled - conflictsBefore
        return report
    }

    private struct ImportState {
        let policy: ImportOptions.Policy
        var baseline: [String: [String: Baseline]]
        var updates: [String: [String: Baseline?]] = [:]
        var seen: [String: Set<String>] = [:]

        mutating func set(_ collection: String, _ id: String, _ value: Baseline?) {
            if value == baseline[collection]?[id] && updates[collection]?[id] == nil { return }
            updates[collection, default: [:]][id] = .some(value)
        }
    }

    private mutating func importRecord(
        _ record: JSONObject,
        collection: String,
        state: inout ImportState,
        report: inout ImportReport
    ) throws {
        let id = try RecordVersion.recordID(of: record)
        state.seen[collection, default: []].insert(id)
        let row = try stored(collection, id)
        if collection == CollectionName.auditLog {
            if row != nil {
                report.unchanged += 1
            } else {
                let entry = RecordVersion(id: id, content: record, updatedAt: .epoch, origin: "")
                try apply(entry, in: collection, source: .local, current: .read(nil))
                report.added += 1
            }
            return
        }
        let meta = try RecordMetadata(of: record)
        let deleted = meta.deletedAt != nil
        let legacy = state.policy != .replica
        let author: String
        switch state.policy {
        case .replica: author = device
        case .legacyPush(let pusher): author = pusher
        }
        // The blob's copy, with placeholder metadata: its content and hash are computed once.
        let copy = RecordVersion(id: id, content: record, updatedAt: .epoch, origin: author)
        let hash = copy.info.contentHash
        let key = deleted ? hash + "|deleted" : hash
        let base = state.baseline[collection]?[id]
        func remember(_ version: VersionInfo) {
            state.set(collection, id, Baseline(key: key, vector: VectorColumn.encode(version.vector), generation: version.generation))
        }
        func applyEdit(on base: (vector: VersionVector, generation: Int)) throws {
            let edit = LocalWrite.edit(copy, deleted: deleted, base: base, device: author, stamp: try stamp())
            try apply(edit, in: collection, source: .local, current: .read(row))
            report.updated += 1
            remember(edit.info)
        }

        if let row, row.info.contentHash == hash, row.info.isDeleted == deleted {
            report.unchanged += 1
            remember(row.info)
            return
        }
        if let base, base.key == key {
            report.stale += 1
            return
        }
        let limit = futureLimit
        if meta.describesSyncedVersion {
            var updatedAt = meta.updatedAt!
            var vector = meta.vector!
            if updatedAt > limit {
                updatedAt = limit
                vector = vector.capped(at: limit)
                report.clamped += 1
            }
            let incoming = copy.restamped(
                updatedAt: updatedAt,
                deletedAt: meta.deletedAt.map { min($0, limit) },
                origin: meta.origin!,
                vector: vector,
                generation: meta.generation ?? 0
            )
            if let row, row.info.isSameVersion(as: incoming.info) {
                try applyEdit(on: (row.info.vector, row.info.generation))
                return
            }
            let outcome = try apply(incoming, in: collection, source: .local, current: .read(row))
            if row == nil { report.added += 1 } else if outcome == .applied { report.updated += 1 } else { report.stale += 1 }
            remember(incoming.info)
            return
        }
        guard let row else {
            // A replica backfills at the epoch so that two devices importing one farm agree;
            // a legacy push is that device's news, stamped with server time.
            var updatedAt = try meta.updatedAt ?? (legacy ? stamp() : .epoch)
            if updatedAt > limit {
                updatedAt = limit
                report.clamped += 1
            }
            let deletedAt = meta.deletedAt.map { min($0, limit) }
            if let deletedAt { updatedAt = max(updatedAt, deletedAt) }
            let created = copy.restamped(
                updatedAt: updatedAt,
                deletedAt: deletedAt,
                origin: author,
                vector: VersionVector([author: updatedAt]),
                generation: meta.generation ?? 0
            )
            try apply(created, in: collection, source: .local, current: .read(nil))
            report.added += 1
            remember(created.info)
            return
        }
        if let base {
            try applyEdit(on: (try VectorColumn.decode(base.vector), base.generation))
            return
        }
        // The replica has this record from elsewhere and the blob's copy has no known ancestry
        // (a replica's first import of it, or a legacy device's first copy): which is newer cannot
        // be known, so the live version stays and the blob's is archived for review.
        let s = try stamp()
        let archived = copy.restamped(
            updatedAt: s,
            deletedAt: deleted ? s : nil,
            origin: author,
            vector: VersionVector([author: s]),
            generation: row.info.generation
        )
        if ConflictKind(winner: row.info, loser: archived.info) != nil, let winner = try version(collection, id) {
            try file(ConflictEntry(collection: collection, winner: winner, loser: archived), source: .local)
        }
        report.stale += 1
        remember(archived.info)
    }

    /// Soft-deletes records of the previous import that the blob no longer has.
    private mutating func removeAbsent(decoded: DecodedBlob, state: inout ImportState, report: inout ImportReport) throws {
        for (collection, entries) in state.baseline {
            for (id, base) in entries where state.seen[collection]?.contains(id) != true {
                guard decoded.judgesAbsence(collection: collection, id: id) else { continue }
                state.set(collection, id, nil)
                guard let row = try stored(collection, id), !row.info.isDeleted,
                    let current = try version(collection, id)
                else { continue }
                let deletion = LocalWrite.edit(
                    current,
                    deleted: true,
                    base: (try VectorColumn.decode(base.vector), base.generation),
                    device: device,
                    stamp: try stamp()
                )
                try apply(deletion, in: collection, source: .local)
                report.deleted += 1
            }
        }
    }

    /// Soft-deletes every live record the blob lacks in the containers it has.
    private mutating func prune(decoded: DecodedBlob, state: ImportState, report: inout ImportReport) throws {
        for group in decoded.groups where group.collection != CollectionName.auditLog {
            let live = try String.fetchAll(
                db.cachedStatement(sql: "SELECT id FROM record WHERE collection = ? AND deleted_at IS NULL"),
                arguments: [group.collection]
            )
            for id in live where state.seen[group.collection]?.contains(id) != true {
                guard decoded.judgesAbsence(collection: group.collection, id: id),
                    let current = try version(group.collection, id)
                else { continue }
                try apply(LocalWrite.delete(current, device: device, stamp: try stamp()), in: group.collection, source: .local)
                report.deleted += 1
            }
        }
    }

    private func loadBaseline(scope: String) throws -> [String: [String: Baseline]] {
        var out: [String: [String: Baseline]] = [:]
        let rows = try Row.fetchCursor(
            db,
            sql: "SELECT collection, id, hash, vv, gen FROM baseline WHERE scope = ?",
            arguments: [scope]
        )
        while let row = try rows.next() {
            out[row["collection"], default: [:]][row["id"]] = Baseline(key: row["hash"], vector: row["vv"], generation: row["gen"])
        }
        return out
    }

    private func saveBaseline(_ state: ImportState, scope: String) throws {
        let upsert = try db.cachedStatement(
            sql: """
                INSERT INTO baseline (scope, collection, id, hash, vv, gen) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT(scope, collection, id) DO UPDATE SET hash = excluded.hash, vv = excluded.vv, gen = excluded.gen
                """
        )
        let delete = try db.cachedStatement(sql: "DELETE FROM baseline WHERE scope = ? AND collection = ? AND id = ?")
        for (collection, updates) in state.updates {
            for (id, value) in updates {
                if let value {
                    let raw = RawStatement(upsert)
                    raw.reset()
                    defer { raw.reset() }
                    try raw.bind(1, scope)
                    try raw.bind(2, collection)
                    try raw.bind(3, id)
                    try raw.bind(4, value.key)
                    try raw.bind(5, value.vector)
                    try raw.bind(6, Int64(value.generation))
                    _ = try raw.step()
                } else {
                    try delete.execute(arguments: [scope, collection, id])
                }
            }
        }
    }
}
