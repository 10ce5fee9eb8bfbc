import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A program started with `posix_spawn(3)`, for everything the tests run.
///
/// Foundation's `Process.run()` lists `/proc/self/fd` and, on Swift 6.3.1, copies a whole
/// `dirent` name past the end of glibc's buffer; now and then that page is unmapped and the test
/// process crashes (swift-corelibs-foundation#5472, fixed upstream after 6.3.1). Spawning here
/// avoids that code. The child starts with no signal blocked, whatever the spawning thread had
/// blocked. It inherits no descriptor but its standard input, output and error: a socket the test
/// process held at that moment (a port being probed, a proxy's connection) would otherwise stay
/// bound or open in the child for its whole life, as in a CI run where a broker's port was taken
/// that way.
public final class ChildProcess: Sendable {
    /// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34 and later), which Swift's Glibc
    /// module does not declare.
    private static let closeFrom: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32)? =
        dlsym(nil, "posix_spawn_file_actions_addclosefrom_np").map {
            unsafeBitCast($0, to: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32).self)
        }

    /// The child's process id.
    public let pid: pid_t
    /// How it ended, once reaped: the exit status or the signal, and which of the two.
    private let ending = Mutex<(status: Int32, signaled: Bool)?>(nil)

    /// Starts `path` with `arguments`.
    ///
    /// - Parameters:
    ///   - environment: the child's whole environment; `nil` passes ours on.
    ///   - stdin: a file to read standard input from; `nil` is `/dev/null`.
    ///   - stdout: a file standard output is written to (created or truncated); `nil` is `/dev/null`.
    ///   - stderr: the same for standard error.
    public init(
        _ path: String,
        _ arguments: [String],
        environment: [String: String]? = nil,
        stdin: String? = nil,
        stdout: String? = nil,
        stderr: String? = nil
    ) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, stdin ?? "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdout ?? "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, stderr ?? "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        _ = ChildProcess.closeFrom?(&actions, 3)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var unblocked = sigset_t()
        sigemptyset(&unblocked)
        posix_spawnattr_setsigmask(&attributes, &unblocked)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK))

        var argv = ([path] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let result: Int32
        if let environment {
            var envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
            defer { for pointer in envp { free(pointer) } }
            result = posix_spawn(&pid, path, &actions, &attributes, &argv, &envp)
        } else {
            result = posix_spawn(&pid, path, &actions, &attributes, &argv, environ)
        }
        guard result == 0 else { throw ChildProcessError(path: path, code: result) }
        self.pid = pid
    }

    /// Whether the child has not ended yet.
    public var isRunning: Bool { reap() == nil }

    /// Sends `signal` to the child while it runs.
    public func send(_ signal: Int32) {
        guard isRunning else { return }
        kill(pid, signal)
    }

    /// Sends SIGTERM.
    public func terminate() { send(SIGTERM) }

    /// Waits for the child to end and returns how it ended.
    @discardableResult
    public func waitForExit() -> (status: Int32, signaled: Bool) {
        while true {
            if let ended = reap() { return ended }
            usleep(2_000)
        }
    }

    /// Reaps the child without blocking; the lock is never held while waiting.
    private func reap() -> (status: Int32, signaled: Bool)? {
        ending.withLock { ending in
            if let ending { return ending }
            var raw: Int32 = 0
            switch waitpid(pid, &raw, WNOHANG) {
            case pid: break
            case -1 where errno == ECHILD:
                // Someone else reaped it: it has ended, how is unknown.
                ending = (-1, false)
                return ending
            default: return nil
            }
            let signal = raw & 0x7F
            ending = signal == 0 ? ((raw >> 8) & 0xFF, false) : (signal, true)
            return ending
        }
    }
}

/// `posix_spawn(3)` refused to start a program.
public struct ChildProcessError: Error, CustomStringConvertible {
    public let path: String
    public let code: Int32

    public var description: String { "cannot start \(path): \(String(cString: strerror(code)))" }
}
