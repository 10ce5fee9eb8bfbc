import EggloguCore
import Foundation

/// How a replica is opened.
public struct ReplicaConfiguration: Sendable {
    /// This device's id. A new replica takes it (or generates one); an existing
    /// replica must match it.
    public var deviceID: String?
    /// The farm this replica holds. Like ``deviceID``, fixed once set.
    public var farmID: String?
    /// How far ahead of the wall clock a timestamp may be (default 5 minutes).
    public var maxClockSkewMilliseconds: Int64 = HybridLogicalClock.defaultMaxSkewMilliseconds
    /// Create the replica file when it does not exist.
    public var createIfMissing = true
    /// What the replica is for.
    public enum Role: Sendable, Equatable {
        /// A device's replica: local changes are queued for pushing, and local writes extend the blob layout.
        case device
        /// A server's store: it relays what devices push and queues nothing.
        case server
    }

    public var role = Role.device
    /// Whether closing checkpoints the WAL into the database and removes it (the default, so a
    /// closed replica is one file). A server that closes and reopens farms often turns it off:
    /// the WAL stays, as durable as the database, and closing costs no fsync.
    public var checkpointOnClose = true
    /// How long to wait for another process's write lock.
    public var busyTimeoutSeconds: Double = 10
    /// The wall clock; tests substitute their own.
    public var wallClock: @Sendable () -> Timestamp = { Timestamp(milliseconds: Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))) }

    public init() {}
}
