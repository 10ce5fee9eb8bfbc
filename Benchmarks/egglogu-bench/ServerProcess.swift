import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// `egglogu-sync-server serve` as a child process on a free port.
struct ServerProcess {
    let pid: pid_t
    let url: String

    static func start(binary: String, dataDir: String, log: String, arguments: [String] = []) throws -> ServerProcess {
        let words: [String] = [binary, "serve", "--data-dir", dataDir, "--port", "0"] + arguments
        let argv: [UnsafeMutablePointer<CChar>?] = words.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        var pid: pid_t = 0
        guard posix_spawn(&pid, binary, &actions, nil, argv, environ) == 0 else { throw BenchError("cannot start \(binary)") }
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            if let text = try? String(contentsOfFile: log, encoding: .utf8),
                let line = text.split(separator: "\n").first(where: { $0.contains("listening on ") })
            {
                return ServerProcess(pid: pid, url: String(line.split(separator: " ").last!))
            }
            usleep(20_000)
        }
        kill(pid, SIGKILL)
        throw BenchError("the server did not start")
    }

    /// Resident and peak resident memory (`VmRSS`, `VmHWM`), in MB.
    func memory() -> (resident: Double, peak: Double) {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        func field(_ name: String) -> Double {
            guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(name + ":") }),
                let kb = line.split(separator: " ").dropFirst().first.flatMap({ Double($0) })
            else { return 0 }
            return kb / 1024
        }
        return (field("VmRSS"), field("VmHWM"))
    }

    /// The descriptors the server has open.
    func openFiles() -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? 0
    }

    func stop() {
        kill(pid, SIGTERM)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
    }
}

/// Runs a program and returns its standard output.
///
/// Spawned directly rather than through Foundation's `Process`, whose `run()` can crash on Swift
/// 6.3.1 (swift-corelibs-foundation#5472).
func output(of binary: String, _ arguments: [String]) throws -> String {
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("egglogu-bench-output-\(UUID().uuidString)").path
    defer { unlink(file) }
    let argv = ([binary] + arguments).map { strdup($0) } + [nil]
    defer { for pointer in argv { free(pointer) } }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 1, file, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    var pid: pid_t = 0
    let rc = posix_spawn(&pid, binary, &actions, nil, argv, environ)
    guard rc == 0 else { throw BenchError("cannot start \(binary): \(String(cString: strerror(rc)))") }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    guard status == 0 else { throw BenchError("\(binary) \(arguments.first ?? "") ended with wait status \(status)") }
    let text = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
    return text.trimmingCharacters(in: .whitespacesAndNewlines)
}
