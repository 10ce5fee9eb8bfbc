import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A real mosquitto on a free loopback port, started and stopped by pid.
public final class Broker: @unchecked Sendable {
    /// The port mosquitto listens on. Read before the first ``start()``, it stays this broker's
    /// port; unread, ``start()`` may exchange it for another when something else holds it.
    public var port: Int {
        portRead = true
        return chosenPort
    }
    private var chosenPort: Int
    private var portRead = false
    private var lines: [String]
    private let directory: TemporaryDirectory
    private let config: String
    private var process: ChildProcess?

    /// - Parameters:
    ///   - users: username → password; when given, anonymous clients are refused.
    ///   - tls: CA, certificate and key files: the listener speaks TLS only.
    public convenience init(users: [String: String] = [:], tls: (ca: String, certificate: String, key: String)? = nil) throws {
        try self.init(users: users, tls: tls, port: Broker.freePort())
    }

    /// A broker meant for `port`, which it leaves for another when `port` is taken at start.
    init(users: [String: String] = [:], tls: (ca: String, certificate: String, key: String)? = nil, port: Int) throws {
        directory = TemporaryDirectory()
        chosenPort = port
        // Stay the current user: started as root, mosquitto would switch to "mosquitto" and lose our files.
        let user = getpwuid(getuid()).map { String(cString: $0.pointee.pw_name) } ?? "root"
        var lines = ["persistence false", "log_dest stderr", "log_type error", "log_type warning", "user \(user)"]
        if let tls { lines += ["cafile \(tls.ca)", "certfile \(tls.certificate)", "keyfile \(tls.key)"] }
        if users.isEmpty {
            lines.append("allow_anonymous true")
        } else {
            let passwords = directory.file("passwords")
            FileManager.default.createFile(atPath: passwords, contents: nil, attributes: [.posixPermissions: 0o600])
            for (user, password) in users {
                try ChildProcess("/usr/bin/mosquitto_passwd", ["-b", passwords, user, password]).waitForExit()
            }
            lines += ["allow_anonymous false", "password_file \(passwords)"]
        }
        self.lines = lines
        config = directory.file("mosquitto.conf")
        try writeConfiguration()
    }

    private func writeConfiguration() throws {
        let listener = "listener \(chosenPort) 127.0.0.1"
        try ([listener] + lines).joined(separator: "\n").write(toFile: config, atomically: true, encoding: .utf8)
    }

    /// Starts mosquitto and waits until it accepts connections.
    ///
    /// A mosquitto that ends at once is started again, twice at most: in a CI run one did, and the
    /// test failed on it alone. What it said is in the error. When its port was taken in the
    /// meantime (in a CI run, on all three tries) and nobody has read the port yet, it moves to
    /// another.
    public func start() throws {
        let log = directory.file("mosquitto.log")
        for attempt in 1...3 {
            try? FileManager.default.removeItem(atPath: log)
            let process = try ChildProcess("/usr/sbin/mosquitto", ["-c", config], stderr: log)
            self.process = process
            // Something else listening on the port accepts too: only a listening socket of this
            // mosquitto's own counts.
            if Broker.waitUntilListening(chosenPort, pid: process.pid, while: process) {
                usleep(50_000)
                return
            }
            let ended = process.isRunning ? "still running" : "\(process.waitForExit())"
            kill()
            let said = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            guard attempt < 3 else { throw BrokerError(port: chosenPort, log: "(\(ended)) " + said) }
            if said.contains("Address already in use") && !portRead {
                chosenPort = Broker.freePort()
                try writeConfiguration()
            }
            usleep(200_000)
        }
    }

    /// Waits up to `timeout` seconds for `port` to accept connections while `process` runs.
    public static func waitUntilAccepting(_ port: Int, while process: ChildProcess, timeout: TimeInterval = 10) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline && process.isRunning {
            if accepts(port) { return true }
            usleep(20_000)
        }
        return accepts(port)
    }

    /// Waits up to `timeout` seconds for `pid` to listen on loopback `port` while `process` runs.
    static func waitUntilListening(_ port: Int, pid: pid_t, while process: ChildProcess, timeout: TimeInterval = 10) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline && process.isRunning {
            if listens(port, pid: pid) { return true }
            usleep(20_000)
        }
        return listens(port, pid: pid)
    }

    /// Whether a socket listening on `port` (`/proc/net/tcp`, state 0A) is one of `pid`'s open files.
    static func listens(_ port: Int, pid: pid_t) -> Bool {
        guard let table = readToEnd("/proc/net/tcp") else { return false }
        let local = ":" + String(format: "%04X", port)
        let inodes = table.split(separator: "\n").dropFirst().compactMap { line -> String? in
            let fields = line.split(separator: " ")
            guard fields.count > 9, fields[1].hasSuffix(local), fields[3] == "0A" else { return nil }
            return "socket:[\(fields[9])]"
        }
        guard !inodes.isEmpty, let fds = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd") else { return false }
        return fds.contains { fd in
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\(fd)")).map(inodes.contains) ?? false
        }
    }

    /// A file of `/proc` whole. Its size reads as 0, and Foundation's `String(contentsOfFile:)`
    /// then returned the first 4 KB of the table only: in CI, many sockets before the broker's.
    private static func readToEnd(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = read(fd, &chunk, chunk.count)
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { return nil }
            if count == 0 { return String(decoding: bytes, as: UTF8.self) }
            bytes += chunk[0..<count]
        }
    }

    /// Stops mosquitto (SIGKILL: the clients see a dropped connection).
    public func kill() {
        guard let process else { return }
        process.send(SIGKILL)
        process.waitForExit()
        self.process = nil
    }

    deinit {
        kill()
    }

    public static func accepts(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }

    /// Ports handed out by ``freePort()`` in this process.
    private static let handedOut = Mutex<Set<Int>>([])

    /// A loopback port that is free now and that no other caller in this process was given. It is
    /// drawn below the kernel's ephemeral range (32768 and up), so an outgoing connection of another
    /// test cannot take it while its broker is not started yet, and never twice: a test that starts
    /// its broker late once had its clients reach another test's broker on the same port.
    public static func freePort() -> Int {
        while true {
            let port = Int.random(in: 20_000..<32_700)
            guard handedOut.withLock({ $0.insert(port).inserted }) else { continue }
            if bindable(port) { return port }
        }
    }

    private static func bindable(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }
}

/// mosquitto did not come up.
public struct BrokerError: Error, CustomStringConvertible {
    public let port: Int
    /// What mosquitto wrote to standard error.
    public let log: String

    public var description: String { "mosquitto did not accept connections on port \(port): \(log)" }
}
