/// How a top-level key (or a nested child `parent.child`) of the blob is stored.
public enum ShapeKind: String, Sendable, Equatable {
    /// An array of records with ids.
    case collection
    /// An object whose values are record arrays (`feed`, `finances`, ...).
    case nested
    /// `farm` or `settings`: merged per field.
    case singleton
    /// Anything else: merged last-write-wins as a whole.
    case value
    /// The append-only audit log.
    case auditLog
}
