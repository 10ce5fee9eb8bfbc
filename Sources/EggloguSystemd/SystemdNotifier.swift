import Foundation

/// sd_notify without libsystemd: one datagram per message to `$NOTIFY_SOCKET`, a path or an
/// abstract socket (`@name`). Outside systemd (no socket) every call does nothing.
public struct SystemdNotifier: Sendable {
    /// The socket messages go to, as systemd gave it.
    public let socket: String?
    /// How often systemd expects `WATCHDOG=1`, when it watches this process.
    public let watchdogInterval: Duration?

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        let socket = environment["NOTIFY_SOCKET"].flatMap { $0.isEmpty ? nil : $0 }
        self.socket = socket
        let forUs = environment["WATCHDOG_PID"].map { Int32($0) == getpid() } ?? true
        if socket != nil, forUs, let text = environment["WATCHDOG_USEC"], let micros = Int64(text), micros > 0 {
            watchdogInterval = .microseconds(micros)
        } else {
            watchdogInterval = nil
        }
    }

    /// Whether a supervisor listens.
    public var isActive: Bool { socket != nil }

    /// The service finished starting (or reloading); `status` goes along as `STATUS=`.
    public func ready(status: String? = nil) {
        send(["READY=1"] + (status.map { ["STATUS=" + $0] } ?? []))
    }

    /// One line for `systemctl status`.
    public func status(_ text: String) {
        send(["STATUS=" + text])
    }

    /// The watchdog keep-alive.
    public func watchdog() {
        send(["WATCHDOG=1"])
    }

    /// A reload began; `ready()` ends it.
    public func reloading() {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let micros = Int64(now.tv_sec) * 1_000_000 + Int64(now.tv_nsec) / 1_000
        send(["RELOADING=1", "MONOTONIC_USEC=\(micros)"])
    }

    /// Shutdown began.
    public func stopping() {
        send(["STOPPING=1"])
    }

    /// Sends `lines` as one datagram; false when there is no socket or sending failed.
    @discardableResult
    public func send(_ lines: [String]) -> Bool {
        guard let socket else { return false }
        return Self.send(Array(lines.joined(separator: "\n").utf8), to: socket)
    }

    private static func send(_ message: [UInt8], to socketPath: String) -> Bool {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var path = Array(socketPath.utf8)
        let abstract = path.first == UInt8(ascii: "@")
        if abstract { path[0] = 0 }
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard path.count < capacity else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: path)
            if !abstract { raw[path.count] = 0 }
        }
        let length = MemoryLayout<sockaddr_un>.offset(of: \.sun_path)! + path.count + (abstract ? 0 : 1)
        let fd = Foundation.socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let sent = message.withUnsafeBytes { bytes in
            withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL), $0, socklen_t(length))
                }
            }
        }
        return sent == message.count
    }
}
