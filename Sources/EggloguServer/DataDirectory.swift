import EggloguStore
import Foundation

/// The server's files: `server.sqlite` (devices and revocations), `jwt-secret`, and one replica per farm under `farms/`.
public struct DataDirectory: Sendable {
    public let path: String

    /// Opens `path`, creating it (mode 0700) if asked to.
    public init(_ path: String, create: Bool) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw ServerSetupError("\(path) is not a directory") }
        } else if create {
            do {
                try FileManager.default.createDirectory(
                    atPath: path + "/farms",
                    withIntermediateDirectories: true,
                    attributes: [.posixPermissions: 0o700]
                )
                try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: path)
            } catch {
                throw ServerSetupError("cannot create the data directory \(path): \(error.localizedDescription)")
            }
        } else {
            throw ServerSetupError("no data directory at \(path)")
        }
        try? FileManager.default.createDirectory(atPath: path + "/farms", withIntermediateDirectories: true)
        self.path = path
    }

    public var serverDatabase: String { path + "/server.sqlite" }
    public var secretFile: String { path + "/jwt-secret" }
    public var farmsDirectory: String { path + "/farms" }

    /// The replica file of a farm (the id must be valid, see ``isValidFarmID(_:)``).
    public func farmReplica(_ farm: String) -> String {
        farmsDirectory + "/" + farm + ".sqlite"
    }

    /// The farms that have a replica here.
    public func farms() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: farmsDirectory)) ?? [])
            .filter { $0.hasSuffix(".sqlite") }
            .map { String($0.dropLast(".sqlite".count)) }
            .filter(DataDirectory.isValidFarmID)
            .sorted()
    }

    /// Farm ids name files, so they are 1 to 64 of `A-Z a-z 0-9 . _ -`, not starting with `.` or `-`.
    public static func isValidFarmID(_ farm: String) -> Bool {
        guard (1...64).contains(farm.utf8.count), let first = farm.unicodeScalars.first, first != ".", first != "-" else {
            return false
        }
        return farm.unicodeScalars.allSatisfy {
            $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "." || $0 == "_" || $0 == "-")
        }
    }

    /// The HS256 secret in `file` (default: `jwt-secret` here, created with 48 random bytes and mode 0600 when missing).
    public func secret(file: String? = nil) throws -> [UInt8] {
        let file = file ?? secretFile
        if file == secretFile && !FileManager.default.fileExists(atPath: file) {
            var rng = SystemRandomNumberGenerator()
            let bytes = (0..<48).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let text = Data(bytes).base64EncodedString() + "\n"
            guard FileManager.default.createFile(atPath: file, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]) else {
                throw ServerSetupError("cannot create the secret file \(file)")
            }
        }
        return try DataDirectory.readSecret(file)
    }

    /// Reads a secret file; surrounding white space is ignored, and at least 32 bytes must remain.
    public static func readSecret(_ file: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw ServerSetupError("cannot read the secret file \(file)")
        }
        let secret = Array(String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines).utf8)
        guard secret.count >= 32 else {
            throw ServerSetupError("the secret in \(file) has \(secret.count) bytes; HS256 needs at least 32")
        }
        return secret
    }
}

extension DataDirectory {
    /// Copies every farm's replica (online, each with a new epoch), the device registry and the
    /// secret into `destination`, which must not exist.
    ///
    /// - Returns: the number of farms copied.
    @discardableResult
    public func backup(to destination: String) async throws -> Int {
        guard !FileManager.default.fileExists(atPath: destination) else {
            throw ServerSetupError("\(destination) exists already")
        }
        let target = try DataDirectory(destination, create: true)
        let farms = farms()
        for farm in farms {
            var configuration = ReplicaConfiguration()
            configuration.createIfMissing = false
            configuration.role = .server
            try await Replica.open(path: farmReplica(farm), configuration: configuration).backup(to: target.farmReplica(farm))
        }
        if FileManager.default.fileExists(atPath: serverDatabase) {
            try await DeviceRegistry.open(path: serverDatabase).backup(to: target.serverDatabase)
        }
        if FileManager.default.fileExists(atPath: secretFile) {
            try FileManager.default.copyItem(atPath: secretFile, toPath: target.secretFile)
        }
        return farms.count
    }
}

/// A configuration or file problem that stops the server from starting; the message says what to fix.
public struct ServerSetupError: Error, CustomStringConvertible {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}
