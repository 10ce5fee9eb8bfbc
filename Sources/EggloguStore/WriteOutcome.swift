/// What `put` did.
public enum PutOutcome: String, Sendable, Equatable {
    case created, updated, restored, unchanged
}

/// What `delete` did.
public enum DeleteOutcome: String, Sendable, Equatable {
    case deleted
    case alreadyDeleted = "already-deleted"
}
