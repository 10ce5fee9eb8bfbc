import EggloguJSON

/// An entry of the conflict archive (`_conflictArchive`): a losing version kept for review.
///
/// Entries merge as a join, not last-write-wins: the entry keeps the highest
/// winner any replica has seen, and `resolved` merges by OR, so a resolution made
/// anywhere is never undone. The archive syncs like a collection, so every
/// device shows the farm's same list.
public struct ConflictEntry: Sendable, Equatable {
    /// How a conflict was settled.
    public struct Resolution: Sendable, Equatable {
        public enum Choice: String, Sendable, Equatable, CaseIterable {
            /// Republish the archived version so it wins everywhere.
            case keepMine = "keep-mine"
            /// Drop the archived version; the winner stays.
            case acceptTheirs = "accept-theirs"
        }

        public let choice: Choice
        /// The resolving device's stamp.
        public let at: Timestamp
        /// The resolving device.
        public let by: String

        public init(choice: Choice, at: Timestamp, by: String) {
            self.choice = choice
            self.at = at
            self.by = by
        }

        func outranks(_ other: Resolution) -> Bool {
            if at != other.at { return at > other.at }
            if by != other.by { return by > other.by }
            return choice.rawValue > other.choice.rawValue
        }
    }

    /// `hash(collection, record id, loser's origin, loser's _updatedAt)`: the same on every replica.
    public let id: String
    public let collection: String
    public let recordID: String
    public let kind: ConflictKind
    /// The highest winning version any replica has seen for this loser ("theirs").
    public let winner: RecordVersion
    /// The archived version ("mine"): what "keep mine" republishes.
    public let loser: RecordVersion
    /// How and where it was resolved; `nil` while unresolved.
    public let resolution: Resolution?

    /// Files a conflict; the kind follows from which side is deleted.
    public init(collection: String, winner: RecordVersion, loser: RecordVersion) {
        self.init(
            collection: collection,
            winner: winner,
            loser: loser,
            kind: ConflictKind(winner: winner.info, loser: loser.info, concurrent: true) ?? .concurrentEdit,
            resolution: nil
        )
    }

    init(collection: String, winner: RecordVersion, loser: RecordVersion, kind: ConflictKind, resolution: Resolution?) {
        self.id = ConflictEntry.id(collection: collection, recordID: loser.id, loser: loser.info)
        self.collection = collection
        self.recordID = loser.id
        self.kind = kind
        self.winner = winner
        self.loser = loser
        self.resolution = resolution
    }

    /// The entry id for a loser. The collection is part of it because singleton
    /// fields of `farm` and `settings` may share a name and a stamp.
    public static func id(collection: String, recordID: String, loser: VersionInfo) -> String {
        ContentHash.of(parts: ["conflict", collection, recordID, loser.origin, loser.updatedAt.iso8601])
    }

    public var isResolved: Bool { resolution != nil }

    /// The join of two entries with the same id: the higher winner, resolved if either is.
    public func joined(with other: ConflictEntry) -> ConflictEntry {
        let top = other.winner.info.outranks(winner.info) ? other : self
        let resolution: Resolution?
        switch (self.resolution, other.resolution) {
        case (nil, nil): resolution = nil
        case (let r?, nil), (nil, let r?): resolution = r
        case (let a?, let b?): resolution = b.outranks(a) ? b : a
        }
        return ConflictEntry(
            collection: collection,
            winner: top.winner,
            loser: loser,
            kind: top.kind,
            resolution: resolution
        )
    }

    /// This entry marked resolved (a no-op on an already resolved entry's outcome).
    public func resolved(_ choice: Resolution.Choice, at: Timestamp, by device: String) -> ConflictEntry {
        joined(
            with: ConflictEntry(
                collection: collection,
                winner: winner,
                loser: loser,
                kind: kind,
                resolution: Resolution(choice: choice, at: at, by: device)
            )
        )
    }

    /// One field of the two versions side by side; `nil` where a version lacks the field.
    public struct FieldDiff: Sendable, Equatable {
        public let field: String
        public let mine: JSONValue?
        public let theirs: JSONValue?

        public var differs: Bool { mine != theirs }
    }

    /// The fields of the archived version ("mine") in its order, then those only the kept one ("theirs") has.
    public var fieldDiff: [FieldDiff] {
        var fields = loser.content.keys
        for key in winner.content.keys where !fields.contains(key) { fields.append(key) }
        return fields.map { FieldDiff(field: $0, mine: loser.content[$0], theirs: winner.content[$0]) }
    }

    /// The instant that orders entries for display and fills the entry's `_updatedAt`.
    public var updatedAt: Timestamp {
        max(winner.info.updatedAt, loser.info.updatedAt, resolution?.at ?? .epoch)
    }
}

extension ConflictEntry {
    /// The version an entry's `record` is stored with: stamped by its newest instant, with no
    /// origin or vector (entries merge by ``joined(with:)``, not by versions).
    public static func storedInfo(of record: JSONObject, updatedAt: Timestamp) -> VersionInfo {
        VersionInfo(
            updatedAt: updatedAt,
            deletedAt: nil,
            origin: "",
            vector: VersionVector(),
            generation: 0,
            contentHash: ContentHash.of(record.filter(keys: { !SyncField.isMetadata($0) }))
        )
    }

    /// The entry as it is stored and travels in `_conflictArchive`.
    public var record: JSONObject {
        var entries: [JSONObject.Element] = [
            ("id", .string(id)),
            ("collection", .string(collection)),
            ("recordId", .string(recordID)),
            ("kind", .string(kind.rawValue)),
            ("winner", .object(winner.record)),
            ("loser", .object(loser.record)),
            ("resolved", .bool(isResolved)),
        ]
        if let resolution {
            entries.append(
                (
                    "resolution",
                    .object(
                        JSONObject(uniqueEntries: [
                            ("choice", .string(resolution.choice.rawValue)),
                            ("at", .string(resolution.at.iso8601)),
                            ("by", .string(resolution.by)),
                        ])
                    )
                )
            )
        } else {
            entries.append(("resolution", .null))
        }
        entries.append((SyncField.updatedAt, .string(updatedAt.iso8601)))
        entries.append((SyncField.deletedAt, .null))
        return JSONObject(uniqueEntries: entries)
    }

    /// Reads an archive entry, checking that its id matches its loser.
    public init(record value: JSONValue) throws(RecordError) {
        guard case .object(let record) = value else {
            throw RecordError(.notObject, "conflict entry is a \(value.typeName), not an object")
        }
        let id = try RecordVersion.recordID(of: record)
        func bad(_ message: String) -> RecordError {
            RecordError(.badMetadata, id: id, "conflict entry \(id): \(message)")
        }
        guard let collection = record["collection"]?.stringValue, !collection.isEmpty else { throw bad("no collection") }
        guard let winnerValue = record["winner"], let loserValue = record["loser"] else {
            throw bad("winner and loser are required")
        }
        let winner = try RecordVersion(record: winnerValue)
        let loser = try RecordVersion(record: loserValue)
        guard winner.id == loser.id, record["recordId"]?.stringValue == loser.id else {
            throw bad("recordId, winner and loser must name one record")
        }
        guard ConflictEntry.id(collection: collection, recordID: loser.id, loser: loser.info) == id else {
            throw bad("id does not match the archived version")
        }
        guard let kindText = record["kind"]?.stringValue, let kind = ConflictKind(rawValue: kindText) else {
            throw bad("unknown kind")
        }
        var resolution: Resolution? = nil
        if case .object(let r)? = record["resolution"] {
            guard let choiceText = r["choice"]?.stringValue, let choice = Resolution.Choice(rawValue: choiceText),
                let atText = r["at"]?.stringValue, let at = Timestamp(iso8601: atText),
                let by = r["by"]?.stringValue
            else { throw bad("malformed resolution") }
            resolution = Resolution(choice: choice, at: at, by: by)
        } else if record["resolved"] == .bool(true) {
            throw bad("resolved without a resolution")
        }
        self.init(collection: collection, winner: winner, loser: loser, kind: kind, resolution: resolution)
    }
}
