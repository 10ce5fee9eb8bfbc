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
    /// Opens the replica to read it. When the disk is full, SQLite cannot create the shared memory
    /// that a normal open needs, so the main file is opened immutable and read-only instead: see
    /// ``snapshot`` for what such a replica may be missing.
    public static func openForReading(path: String, configuration: ReplicaConfiguration = ReplicaConfiguration()) throws -> Replica {
        var configuration = configuration
        configuration.createIfMissing = false
        do {
            return try open(path: path, configuration: configuration)
        } catch let error as ReplicaError where error.code == .diskFull {
            return try openSnapshot(path: path, configuration: configuration, cause: error)
        }
    }

    private static func openSnapshot(path: String, configuration: ReplicaConfiguration, cause: ReplicaError) throws -> Replica {
        var config = Configuration()
        config.readonly = true
        config.maximumReaderCount = 1
        let identity: (device: String, farm: String?, epoch: String)
        let pool: DatabasePool
        do {
            pool = try DatabasePool(path: immutableURI(path), configuration: config)
            identity = try pool.read { db in
                guard try Schema.migrator.hasCompletedMigrations(db), !(try Schema.migrator.hasBeenSuperseded(db)),
                    let device = try Meta.get(db, .deviceID), let epoch = try Meta.get(db, .epoch)
                else { throw cause }
                return (device, try Meta.get(db, .farmID), epoch)
            }
        } catch let error as ReplicaError {
            throw error
        } catch {
            throw cause
        }
        if let wanted = configuration.deviceID, wanted != identity.device {
            throw ReplicaError(.deviceMismatch, "\(path) belongs to device \(identity.device), not \(wanted)")
        }
        if let wanted = configuration.farmID, let farm = identity.farm, farm != wanted {
            throw ReplicaError(.deviceMismatch, "\(path) holds farm \(farm), not \(wanted)")
        }
        let log = (try? FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? NSNumber)?.int64Value ?? 0
        return Replica(
            path: path, deviceID: identity.device, farmID: identity.farm, epoch: identity.epoch,
            configuration: configuration, pool: pool, snapshot: ReplicaSnapshot(reason: cause.message, unreadLogBytes: log))
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
