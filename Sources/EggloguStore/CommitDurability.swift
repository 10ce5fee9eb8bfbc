/// How a write's commit reaches the disk before the write returns.
///
/// Either way a commit is atomic and survives the process being killed: SQLite's log is in the
/// kernel's page cache once the commit returns. The difference is a power cut or a kernel crash.
enum CommitDurability: Sendable {
    /// The log is synced before the write returns (`synchronous=FULL`). Every write that is the
    /// only copy of something (a local edit, an import, a server's accepted push) is synced.
    case synced
    /// The log is written but synced only by the next synced commit or checkpoint
    /// (`synchronous=NORMAL`). A power cut may undo such commits, the newest first, never part of
    /// one. Only for what a device's server already holds durably and the device pulls again from
    /// its cursor: the page and the cursor that covers it are undone together. A server's own
    /// writes are always synced.
    case refetchable

    var pragma: String {
        switch self {
        case .synced: "PRAGMA synchronous = FULL"
        case .refetchable: "PRAGMA synchronous = NORMAL"
        }
    }
}
