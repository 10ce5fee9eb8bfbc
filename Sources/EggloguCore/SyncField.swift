/// The metadata field names the sync layer adds to records.
///
/// Apart from the design's `_updatedAt` and `_deletedAt`, every field the sync
/// layer owns starts with `_sync`; everything else in a record is the app's.
public enum SyncField {
    public static let updatedAt = "_updatedAt"
    public static let deletedAt = "_deletedAt"
    /// The device that made this version.
    public static let origin = "_syncOrigin"
    /// The version vector `{device: newest own stamp included}`.
    public static let vector = "_syncVV"
    /// The restore generation; absent means 0.
    public static let generation = "_syncGen"
    /// The content hash of the version, added to records sent to the app's own web client, which
    /// sends it back unchanged: a record whose content still has this hash is an unchanged copy.
    public static let contentHash = "_syncHash"
    /// The reserved prefix.
    public static let prefix = "_sync"

    /// Whether `key` is sync metadata rather than app data.
    public static func isMetadata(_ key: String) -> Bool {
        guard key.utf8.first == UInt8(ascii: "_") else { return false }
        return key == updatedAt || key == deletedAt || key.hasPrefix(prefix)
    }
}
