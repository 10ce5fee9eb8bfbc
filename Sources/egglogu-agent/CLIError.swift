import ArgumentParser
import EggloguStore
import Foundation

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
    } catch let error as ExitCode {
        throw error
    } catch let error as CleanExit {
        throw error
    } catch let error as ValidationError {
        throw error
    } catch {
        FileHandle.standardError.write(Data("egglogu-agent: \(error)\n".utf8))
        throw Sysexits.software
    }
}

/// Writes a line to stdout.
func say(_ text: String) {
    FileHandle.standardOutput.write(Data((text + "\n").utf8))
}
