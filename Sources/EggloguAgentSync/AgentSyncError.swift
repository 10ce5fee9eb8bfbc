import EggloguProtocol

/// Why a sync cycle failed to reach or to satisfy the server. Storage failures come as the
/// store's `ReplicaError`, token files as ``TokenStoreError``.
public struct AgentSyncError: Error, Sendable, CustomStringConvertible {
    /// What went wrong; compare with the static members.
    public struct Kind: Sendable, Equatable, CustomStringConvertible {
        fileprivate let transport: SyncTransportError.Kind

        /// The server cannot be reached, timed out, or failed (5xx): try again later.
        public static var unavailable: Kind { Kind(transport: .unavailable) }
        /// The token is missing, malformed, expired or revoked.
        public static var unauthorized: Kind { Kind(transport: .unauthorized) }
        /// The token does not grant this farm.
        public static var forbidden: Kind { Kind(transport: .forbidden) }
        /// The server was restored from a backup (handled inside a cycle; seen only if it repeats).
        public static var resyncRequired: Kind { Kind(transport: .resyncRequired) }
        /// The server refused the request.
        public static var refused: Kind { Kind(transport: .refused) }
        /// The answer is not the protocol's.
        public static var badResponse: Kind { Kind(transport: .badResponse) }

        /// The kind as a metric label.
        public var description: String { transport.description }
    }

    public let kind: Kind
    /// The HTTP status, when there was one.
    public let status: Int?
    public let message: String

    init(_ error: SyncTransportError) {
        self.kind = Kind(transport: error.kind)
        self.status = error.status
        self.message = error.message
    }

    public var description: String { message }
}
