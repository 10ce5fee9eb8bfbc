/// Why a request of the delta protocol failed, whatever carried it.
public struct SyncTransportError: Error, Sendable, CustomStringConvertible {
    /// What went wrong; compare with the static members.
    public struct Kind: Sendable, Equatable, CustomStringConvertible {
        private enum Value: String, Sendable, Equatable {
            case unavailable, unauthorized, forbidden
            case resyncRequired = "resync-required"
            case refused
            case badResponse = "bad-response"
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// The server cannot be reached, timed out, or failed (5xx): try again later.
        public static var unavailable: Kind { Kind(.unavailable) }
        /// 401: the token is missing, malformed, expired or revoked.
        public static var unauthorized: Kind { Kind(.unauthorized) }
        /// 403: the token does not grant this farm.
        public static var forbidden: Kind { Kind(.forbidden) }
        /// 410: the server was restored from a backup; resync from scratch.
        public static var resyncRequired: Kind { Kind(.resyncRequired) }
        /// Another 4xx: the server refused the request.
        public static var refused: Kind { Kind(.refused) }
        /// The answer is not the protocol's.
        public static var badResponse: Kind { Kind(.badResponse) }

        /// The kind as a metric label: `unavailable`, `resync-required`, `bad-response`, ...
        public var description: String { value.rawValue }

        /// The kind of a non-200 HTTP status.
        public init(status: Int) {
            switch status {
            case 401: self = .unauthorized
            case 403: self = .forbidden
            case 410: self = .resyncRequired
            case 400..<500: self = .refused
            default: self = .unavailable
            }
        }
    }

    /// Why a resync is required, as the 410 answer's `reason` says.
    public enum ResyncReason: String, Sendable {
        /// The server lost history (a restored backup): push everything again.
        case restored
        /// The server has forgotten deletions older than the cursor: what it no longer has was
        /// deleted, so only unpushed changes go up again.
        case historyPurged = "history-purged"
    }

    public let kind: Kind
    /// The HTTP status, when there was one.
    public let status: Int?
    public let message: String
    /// For ``Kind/resyncRequired``: why, when the server said (older servers say nothing: restored).
    public let resyncReason: ResyncReason?

    public init(_ kind: Kind, status: Int? = nil, _ message: String, resyncReason: ResyncReason? = nil) {
        self.kind = kind
        self.status = status
        self.message = message
        self.resyncReason = resyncReason
    }

    public var description: String { message }
}
