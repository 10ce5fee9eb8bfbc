/// The three ways two versions of one record can conflict.
public enum ConflictKind: String, Sendable, Equatable, CaseIterable {
    /// The winner is a deletion; the archived loser is an edit.
    case deleteVsEdit = "delete-vs-edit"
    /// The winner is an edit; the archived loser is a deletion.
    case editVsDelete = "edit-vs-delete"
    /// Both are edits with different content.
    case concurrentEdit = "concurrent-edit"

    /// The conflict between a winner and a loser, or `nil` when the loser is safely superseded.
    ///
    /// A loser conflicts when the winner has not seen it (`W.vv[L.origin] < L._updatedAt`,
    /// absent counting as −∞) and their contents differ; two deletions never differ.
    /// A sequential edit, however many intermediate versions a replica missed, is
    /// therefore never a conflict: its vector includes every ancestor.
    ///
    /// - Parameter concurrent: the versions are known to be concurrent (a client of the app's
    ///   own sync endpoint edited an older base), whatever the vectors say: several browsers of one
    ///   user may share an origin, and then the vector of one claims to have seen the other.
    public init?(winner: VersionInfo, loser: VersionInfo, concurrent: Bool = false) {
        if !concurrent && winner.vector.includes(origin: loser.origin, updatedAt: loser.updatedAt) { return nil }
        switch (winner.isDeleted, loser.isDeleted) {
        case (true, true): return nil
        case (true, false): self = .deleteVsEdit
        case (false, true): self = .editVsDelete
        case (false, false):
            if winner.contentHash == loser.contentHash { return nil }
            self = .concurrentEdit
        }
    }
}

/// What merging an incoming version into a replica's stored version decides.
public struct MergeDecision: Sendable, Equatable {
    public enum Outcome: Sendable, Equatable {
        /// The incoming version is the one already stored.
        case duplicate
        /// The stored version stays; the incoming one lost.
        case keepStored
        /// The incoming version replaces the stored one (or is the first).
        case takeIncoming
    }

    public let outcome: Outcome
    /// Set when the losing version must be archived.
    public let conflict: ConflictKind?

    /// The design's `mergeRecord`, made convergent: the one rule devices and the server share.
    ///
    /// The higher version by ``VersionInfo/outranks(_:)`` wins on every replica,
    /// whatever the arrival order, and the loser is archived exactly when
    /// ``ConflictKind/init(winner:loser:concurrent:)`` says so.
    ///
    /// - Parameter concurrent: see ``ConflictKind/init(winner:loser:concurrent:)``.
    public init(stored: VersionInfo?, incoming: VersionInfo, concurrent: Bool = false) {
        guard let stored else {
            self.outcome = .takeIncoming
            self.conflict = nil
            return
        }
        if stored == incoming {
            self.outcome = .duplicate
            self.conflict = nil
        } else if incoming.outranks(stored) {
            self.outcome = .takeIncoming
            self.conflict = ConflictKind(winner: incoming, loser: stored, concurrent: concurrent)
        } else {
            self.outcome = .keepStored
            self.conflict = ConflictKind(winner: stored, loser: incoming, concurrent: concurrent)
        }
    }
}

extension MergeDecision {
    /// Whether the loser goes to the archive: a conflict, outside the layout (presentation, whose
    /// concurrent keys come back as extras).
    public func archives(in collection: String) -> Bool {
        conflict != nil && outcome != .duplicate && collection != CollectionName.layout
    }

    /// The archive entry for the loser of this decision, or nil when it archives nothing: the one
    /// place entries are built, for a device's merge and the server's alike.
    public func archiveEntry(collection: String, stored: RecordVersion, incoming: RecordVersion) -> ConflictEntry? {
        guard archives(in: collection) else { return nil }
        return outcome == .takeIncoming
            ? ConflictEntry(collection: collection, winner: incoming, loser: stored)
            : ConflictEntry(collection: collection, winner: stored, loser: incoming)
    }
}
