import EggloguSyncClient

/// One request of a sync cycle and how it ended.
public struct SyncExchange: Sendable, Equatable {
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

extension SyncExchange {
    /// How a request failed, as a metric label.
    static func outcome(of error: any Error) -> String {
        guard let error = error as? SyncClientError else { return "error" }
        switch error.kind {
        case .unavailable: return "unavailable"
        case .unauthorized: return "unauthorized"
        case .forbidden: return "forbidden"
        case .resyncRequired: return "resync-required"
        case .refused: return "refused"
        case .badResponse: return "bad-response"
        default: return "error"
        }
    }
}
