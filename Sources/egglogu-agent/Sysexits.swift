import ArgumentParser
import EggloguStore
import Foundation

/// sysexits(3) codes.
enum Sysexits {
    static let usage = ExitCode(64)
    static let dataError = ExitCode(65)
    static let noInput = ExitCode(66)
    static let unavailable = ExitCode(69)
    static let software = ExitCode(70)
    static let cannotCreate = ExitCode(73)
    static let ioError = ExitCode(74)
    static let tempFail = ExitCode(75)
    static let config = ExitCode(78)
}

/// A failure the CLI reports in one line and turns into an exit code.
struct CLIError: Error {
    let exitCode: ExitCode
    let message: String

    init(_ exitCode: ExitCode, _ message: String) {
        self.exitCode = exitCode
        self.message = message
    }

    init(_ error: ReplicaError) {
        let code: ExitCode =
            switch error.code {
            case .badData, .invalidName, .alreadyResolved: Sysexits.dataError
            case .notFound, .noReplica, .unreadable: Sysexits.noInput
            case .busy: Sysexits.tempFail
            case .deviceMismatch: Sysexits.config
            case .cannotOpen: Sysexits.cannotCreate
            default: Sysexits.ioError
            }
        self.init(code, error.message)
    }
}

/// Runs a command body, printing any failure as one line on stderr and exiting with its code.
func reportingErrors<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as CLIError {
        FileHandle.standardError.write(Data("egglogu-agent: \(error.message)\n".utf8))
        throw error.exitCode
    } catch let error as ReplicaError {
        FileHandle.standardError.write(Data("egglogu-agent: \(error.message)\n".utf8))
        throw CLIError(error).exitCode
    }
}

/// Writes a line to stdout.
func say(_ text: String) {
    FileHandle.standardOutput.write(Data((text + "\n").utf8))
}
