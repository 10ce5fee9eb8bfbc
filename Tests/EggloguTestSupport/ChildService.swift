import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A long-running program of this project (`egglogu-sync-server serve`, `egglogu-agent run`) as a child process.
public final class ChildService: @unchecked Sendable {
    public let name: String
    private let arguments: [String]
    private let environment: [String: String]
    private let directory: TemporaryDirectory
    private var child: (process: ChildProcess, stdoutPath: String, finish: () -> Subprocess.Output)?
    private var stderrPath: String?

    public init(_ name: String, _ arguments: [String], environment: [String: String] = [:], in directory: TemporaryDirectory) {
        self.name = name
        self.arguments = arguments
        self.environment = environment
        self.directory = directory
    }

    /// Starts the program; with `waitingFor`, returns once that text shows on stdout.
    public func start(waitingFor text: String? = nil, timeout: TimeInterval = 20) throws {
        let started = try Subprocess.start(name, arguments, environment: environment, in: directory)
        child = started
        guard let text else { return }
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if stdout.contains(text) { return }
            usleep(20_000)
        }
        throw CocoaError(.executableLoad)
    }

    public var stdout: String {
        guard let child else { return "" }
        return (try? String(contentsOfFile: child.stdoutPath, encoding: .utf8)) ?? ""
    }

    /// What the program printed on stderr so far.
    public var stderr: String {
        guard let child else { return "" }
        return (try? String(contentsOfFile: String(child.stdoutPath.dropLast(4)) + ".err", encoding: .utf8)) ?? ""
    }

    /// The process id while it runs.
    public var pid: Int32? { child?.process.pid }

    public var isRunning: Bool { child?.process.isRunning ?? false }

    /// Sends `signal` (SIGHUP, say) to the running program.
    public func send(_ signal: Int32) {
        child?.process.send(signal)
    }

    /// SIGTERM (graceful) or SIGKILL; returns how it ended.
    @discardableResult
    public func stop(graceful: Bool = true) -> Subprocess.Output? {
        guard let child else { return nil }
        self.child = nil
        child.process.send(graceful ? SIGTERM : SIGKILL)
        return child.finish()
    }

    deinit {
        stop(graceful: false)
    }
}
