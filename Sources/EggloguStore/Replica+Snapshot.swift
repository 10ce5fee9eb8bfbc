import Foundation
import GRDB

/// What a replica opened read-only on a full disk cannot show.
public struct ReplicaSnapshot: Sendable, Equatable {
    /// Why the replica was opened this way: the disk-full message.
    public let reason: String
    /// Bytes of committed changes in the write-ahead log: a snapshot reads the main file alone, so
    /// those changes are missing from it until there is room to open the replica normally.
    public let unreadLogBytes: Int64

    /// Whether the snapshot holds every committed change.
    public var isComplete: Bool { unreadLogBytes == 0 }
}

extension Replica {
    /// Opens the replica to read it, with a read-only connection when the replica needs nothing
    /// written first (no migration, its identity settled): such an open costs no lock, write or
    /// `fsync`, and closing checkpoints nothing. Otherwise the replica opens as ``open(path:configuration:)``
    /// does. When the disk is full, SQLite cannot create the shared memory that a normal open
    /// needs, so the main file is opened immutable and read-only instead: see ``snapshot`` for what
    /// such a replica may be missing.
    public static func openForReading(
        path: String,
        configuration: ReplicaConfiguration = ReplicaConfiguration()
    ) async throws -> Replica {
        var configuration = configuration
        configuration.createIfMissing = false
        return try await StoreThread.run { [configuration] in
            if let replica = try openReadOnly(path: path, configuration: configuration) { return replica }
            do {
                return try openNow(path: path, configuration: configuration)
            } catch let error as ReplicaError where error.code == .diskFull {
                return try openSnapshot(path: path, configuration: configuration, cause: error)
            }
        }
    }

    /// The replica through read-only connections, or nil when it must be opened for writing first
    /// (a migration is pending, its identity or farm is not set yet) or cannot be opened this way
    /// (no room for the shared memory, no WAL): the read-write open then decides.
    private static func openReadOnly(path: String, configuration: ReplicaConfiguration) throws -> Replica? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        var config = Configuration()
        config.readonly = true
        config.maximumReaderCount = 1
        config.busyMode = .timeout(configuration.busyTimeoutSeconds)
        let pool: DatabasePool
        let identity: Identity
        do {
            pool = try DatabasePool(path: path, configuration: config)
            guard let read = try pool.read(settledIdentity) else { return nil }
            identity = read
        } catch {
            return nil
        }
        if configuration.farmID != nil && identity.farm == nil { return nil }
        try identity.check(against: configuration, path: path)
        return Replica(path: path, identity: identity, configuration: configuration, pool: pool, readOnly: true)
    }

    private static func openSnapshot(path: String, configuration: ReplicaConfiguration, cause: ReplicaError) throws -> Replica {
        var config = Configuration()
        config.readonly = true
        config.maximumReaderCount = 1
        let identity: Identity
        let pool: DatabasePool
        do {
            pool = try DatabasePool(path: immutableURI(path), configuration: config)
            guard let read = try pool.read(settledIdentity) else { throw cause }
            identity = read
        } catch let error as ReplicaError {
            throw error
        } catch {
            throw cause
        }
        try identity.check(against: configuration, path: path)
        let log = unreadLogBytes(path)
        let snapshot = ReplicaSnapshot(reason: cause.message, unreadLogBytes: log)
        return Replica(path: path, identity: identity, configuration: configuration, pool: pool, snapshot: snapshot)
    }

    /// Who a replica belongs to, as its `meta` table says.
    struct Identity {
        var device: String
        var farm: String?
        var epoch: String

        /// Throws ``ReplicaError/Code/deviceMismatch`` when the replica belongs to another device or farm.
        func check(against configuration: ReplicaConfiguration, path: String) throws {
            if let wanted = configuration.deviceID, wanted != device {
                throw ReplicaError(.deviceMismatch, "\(path) belongs to device \(device), not \(wanted)")
            }
            if let wanted = configuration.farmID, let farm, farm != wanted {
                throw ReplicaError(.deviceMismatch, "\(path) holds farm \(farm), not \(wanted)")
            }
        }
    }

    convenience init(
        path: String,
        identity: Identity,
        configuration: ReplicaConfiguration,
        pool: DatabasePool,
        snapshot: ReplicaSnapshot? = nil,
        readOnly: Bool = false
    ) {
        self.init(
            path: path,
            deviceID: identity.device,
            farmID: identity.farm,
            epoch: identity.epoch,
            configuration: configuration,
            pool: pool,
            snapshot: snapshot,
            readOnly: readOnly
        )
    }

    /// The identity of a replica that needs nothing written to be read: its schema current, its
    /// device and epoch set. Nil otherwise.
    private static func settledIdentity(_ db: Database) throws -> Identity? {
        guard try Schema.upgrade.isComplete(db), !(try Schema.upgrade.isSuperseded(db)),
            let device = try Meta.get(db, .deviceID), let epoch = try Meta.get(db, .epoch)
        else { return nil }
        return Identity(device: device, farm: try Meta.get(db, .farmID), epoch: epoch)
    }

    /// Bytes of log frames not yet copied into the main file. SQLite keeps a checkpointed log at
    /// its size, so the size alone overstates it: the shared-memory index says how many frames the
    /// log holds (`mxFrame`) and how many a checkpoint copied (`nBackfill`). Without a readable,
    /// consistent index the whole log counts as unread.
    static func unreadLogBytes(_ path: String) -> Int64 {
        let size = DiskSpace.fileSize(path + "-wal") ?? 0
        guard size > 0, let index = FileHandle(forReadingAtPath: path + "-shm") else { return size }
        defer { try? index.close() }
        guard let header = try? index.read(upToCount: 100), header.count == 100 else { return size }
        let bytes = [UInt8](header)
        func u32(_ offset: Int) -> UInt32 { bytes[offset..<offset + 4].reversed().reduce(0) { $0 << 8 | UInt32($1) } }
        // Two copies of the 48-byte header that agree, initialised; little-endian (the index is in
        // the host's order, and every host we run on is little-endian).
        guard UInt32(1).littleEndian == 1, bytes[0..<48] == bytes[48..<96], bytes[12] != 0 else { return size }
        let frames = Int64(u32(16))
        let backfilled = Int64(u32(96))
        let pageSize = Int64(UInt16(bytes[14]) | UInt16(bytes[15]) << 8)
        guard backfilled < frames else { return 0 }
        return (frames - backfilled) * ((pageSize == 1 ? 65_536 : pageSize) + 24)
    }

    /// `file:PATH?immutable=1`, escaping what a URI would read as syntax: SQLite then takes no lock
    /// and writes nothing, not even the shared-memory file.
    static func immutableURI(_ path: String) -> String {
        let plain = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/-._~".utf8)
        var escaped = ""
        for byte in path.utf8 {
            if plain.contains(byte) {
                escaped.append(Character(UnicodeScalar(byte)))
            } else {
                escaped += "%" + String(byte, radix: 16, uppercase: true).leftPadded(2)
            }
        }
        return "file:" + escaped + "?immutable=1"
    }
}
