import ArgumentParser
import EggloguServer
import Foundation

/// Where the server keeps its data, and where its secret comes from.
struct DataOptions: ParsableArguments {
    @Option(name: .customLong("data-dir"), help: "The data directory (EGGLOGU_SYNC_DATA_DIR).")
    var dataDir: String?

    @Option(name: .customLong("jwt-secret-file"), help: "The HS256 secret, at least 32 bytes (EGGLOGU_SYNC_JWT_SECRET_FILE; default: DATA_DIR/jwt-secret, created if missing).")
    var jwtSecretFile: String?

    /// A flag, else its `EGGLOGU_SYNC_*` variable.
    static func setting(_ flag: String?, _ variable: String) -> String? {
        flag ?? ProcessInfo.processInfo.environment["EGGLOGU_SYNC_" + variable].flatMap { $0.isEmpty ? nil : $0 }
    }

    func directory(create: Bool) throws -> DataDirectory {
        guard let path = Self.setting(dataDir, "DATA_DIR") else {
            throw CommandFailure(64, "pass --data-dir DIR (or set EGGLOGU_SYNC_DATA_DIR)")
        }
        do {
            return try DataDirectory(path, create: create)
        } catch let error as ServerSetupError {
            throw CommandFailure(create ? 73 : 66, error.description)
        }
    }

    /// The secret: the named file, or the data directory's (created on first use).
    func secret(directory: DataDirectory?) throws -> [UInt8] {
        do {
            if let file = Self.setting(jwtSecretFile, "JWT_SECRET_FILE") {
                return try DataDirectory.readSecret(file)
            }
            guard let directory else { throw CommandFailure(64, "pass --data-dir DIR or --jwt-secret-file FILE") }
            return try directory.secret()
        } catch let error as ServerSetupError {
            throw CommandFailure(78, error.description)
        }
    }
}

/// A failure reported as one line on stderr with a sysexits code.
struct CommandFailure: Error {
    let code: Int32
    let message: String

    init(_ code: Int32, _ message: String) {
        self.code = code
        self.message = message
    }
}

/// Runs a command body, printing a failure as one line and exiting with its code.
func reportingFailures<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let failure as CommandFailure {
        FileHandle.standardError.write(Data("egglogu-sync-server: \(failure.message)\n".utf8))
        throw ExitCode(failure.code)
    } catch let error as ServerSetupError {
        FileHandle.standardError.write(Data("egglogu-sync-server: \(error.description)\n".utf8))
        throw ExitCode(78)
    }
}

/// Durations like `90d`, `12h`, `30m`, `45s` or plain seconds.
func parseDuration(_ text: String) -> TimeInterval? {
    let units: [Character: Double] = ["d": 86_400, "h": 3_600, "m": 60, "s": 1]
    if let unit = text.last, let factor = units[unit], let n = Double(text.dropLast()), n > 0 { return n * factor }
    if let n = Double(text), n > 0 { return n }
    return nil
}
