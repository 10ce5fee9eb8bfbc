import EggloguJSON

/// The versions a device creates itself. Each takes one fresh stamp from the clock.
public enum LocalWrite {
    /// An edit, a creation (no `base`), or — when `base` is deleted — a restore.
    ///
    /// The vector is the base's plus `{device: stamp}`; a restore raises the
    /// generation so it beats the deletion it undoes.
    public static func put(
        id: String,
        content: JSONObject,
        base: VersionInfo?,
        device: String,
        stamp: Timestamp
    ) -> RecordVersion {
        let restoring = base?.isDeleted ?? false
        return RecordVersion(
            id: id,
            content: content,
            updatedAt: stamp,
            deletedAt: nil,
            origin: device,
            vector: (base?.vector ?? VersionVector()).advanced(device, to: stamp),
            generation: (base?.generation ?? 0) + (restoring ? 1 : 0)
        )
    }

    /// An edit made outside the sync layer on top of `base` (an import), which
    /// keeps the base's generation: it does not undo a deletion, it conflicts with it.
    ///
    /// - Parameter copy: the edited content (its metadata is replaced).
    public static func edit(
        _ copy: RecordVersion,
        deleted: Bool,
        base: (vector: VersionVector, generation: Int),
        device: String,
        stamp: Timestamp
    ) -> RecordVersion {
        copy.restamped(
            updatedAt: stamp,
            deletedAt: deleted ? stamp : nil,
            origin: device,
            vector: base.vector.advanced(device, to: stamp),
            generation: base.generation
        )
    }

    /// A soft delete of `current`: the content stays (for undo), `_deletedAt` is set.
    public static func delete(_ current: RecordVersion, device: String, stamp: Timestamp) -> RecordVersion {
        RecordVersion(
            id: current.id,
            content: current.content,
            updatedAt: stamp,
            deletedAt: stamp,
            origin: device,
            vector: current.info.vector.advanced(device, to: stamp),
            generation: current.info.generation
        )
    }

    /// "Keep mine": the archived loser republished as it was (an archived deletion
    /// deletes again), over the merged vectors of both sides, one generation up.
    public static func keepMine(_ entry: ConflictEntry, device: String, stamp: Timestamp) -> RecordVersion {
        let loser = entry.loser
        return RecordVersion(
            id: loser.id,
            content: loser.content,
            updatedAt: stamp,
            deletedAt: loser.info.deletedAt,
            origin: device,
            vector: entry.winner.info.vector.merged(with: loser.info.vector).advanced(device, to: stamp),
            generation: max(entry.winner.info.generation, loser.info.generation) + 1
        )
    }
}
