import ArgumentParser
import EggloguStore
import Foundation

/// A failure a command reports in one line on stderr and turns into a sysexits(3) code.
public struct CommandFailure: Error, CustomStringConvertible {
    public let exitCode: ExitCode
    public let message: String

    public init(_ exitCode: ExitCode, _ message: String) {
        self.exitCode = exitCode
        self.message = message
    }

    /// A storage failure, its message kept.
    public init(_ error: ReplicaError) {
        self.init(error.exitCode, error.message)
    }

    public var description: String { message }
}

extension ReplicaError {
    /// The sysexits(3) code of a storage failure.
    public var exitCode: ExitCode {
        switch code {
        case .badData, .invalidName, .alreadyResolved: Sysexits.dataError
        case .notFound, .noReplica, .unreadable: Sysexits.noInput
        case .busy: Sysexits.tempFail
        case .deviceMismatch, .migrationFailed: Sysexits.config
        case .cannotOpen: Sysexits.cannotCreate
        default: Sysexits.ioError
        }
    }
}

/// Runs a command body; a failure is printed as one line, `program: message`, on stderr and the
/// command exits with its code. ArgumentParser's own exits pass through.
public func reportingFailures<T>(
    _ program: String,
    describing describe: (any Error) -> CommandFailure? = { _ in nil },
    _ body: () async throws -> T
) async throws -> T {
    do {
        return try await body()
    } catch let error as ExitCode {
        throw error
    } catch let error as CleanExit {
        throw error
    } catch let error as ValidationError {
        throw error
    } catch {
        let failure =
            (error as? CommandFailure) ?? (error as? ReplicaError).map(CommandFailure.init) ?? describe(error)
            ?? CommandFailure(Sysexits.software, "\(error)")
        FileHandle.standardError.write(Data("\(program): \(failure.message)\n".utf8))
        throw failure.exitCode
    }
}

/// Writes a line to stdout.
public func say(_ text: String) {
    FileHandle.standardOutput.write(Data((text + "\n").utf8))
}
