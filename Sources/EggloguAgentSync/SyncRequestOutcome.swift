/// How one request of a sync cycle ended (for metrics).
public struct SyncRequestOutcome: Sendable, Equatable {
    public enum Kind: String, Sendable {
        case push, pull
    }

    public let kind: Kind
    /// `ok`, or the failure: `unavailable`, `unauthorized`, `forbidden`, `resync-required`, `refused`, `bad-response`, `error`.
    public let outcome: String

    public init(kind: Kind, outcome: String) {
        self.kind = kind
        self.outcome = outcome
    }
}
