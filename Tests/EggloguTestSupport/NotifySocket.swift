import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A datagram socket standing in for systemd's `$NOTIFY_SOCKET`, at a path or in the abstract
/// namespace (`@name`), collecting what a service sends.
public final class NotifySocket: @unchecked Sendable {
    /// The value for `NOTIFY_SOCKET`.
    public let address: String
    private let fd: Int32
    private let lock = NSLock()
    private var received: [String] = []

    public init(abstract: Bool, in directory: TemporaryDirectory) throws {
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        let name = abstract ? "@egglogu-test-notify-\(UUID().uuidString.prefix(8))" : directory.file("notify.sock")
        address = name
        var socketAddress = sockaddr_un()
        socketAddress.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(name.utf8)
        if abstract { bytes[0] = 0 }
        withUnsafeMutableBytes(of: &socketAddress.sun_path) { path in
            for (index, byte) in bytes.enumerated() { path[index] = byte }
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + (abstract ? 0 : 1))
        let bound = withUnsafePointer(to: &socketAddress) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0 else { throw CocoaError(.fileWriteUnknown) }
    }

    deinit {
        close(fd)
    }

    /// Every datagram so far, in order.
    public var messages: [String] {
        drain()
        return lock.withLock { received }
    }

    /// Waits until some datagram after the first `skip` satisfies `match`, reading new ones as they come.
    @discardableResult
    public func wait(after skip: Int = 0, timeout: TimeInterval = 20, for match: (String) -> Bool) -> String? {
        let deadline = Date().addingTimeInterval(timeout)
        var seen = skip
        while true {
            let all = messages
            if let hit = all.dropFirst(seen).first(where: match) { return hit }
            seen = all.count
            let left = deadline.timeIntervalSinceNow
            if left <= 0 { return nil }
            var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            _ = poll(&descriptor, 1, Int32(min(left, 0.2) * 1000))
        }
    }

    private func drain() {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = recv(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
            guard count > 0 else { return }
            let text = String(decoding: buffer[0..<count], as: UTF8.self)
            lock.withLock { received.append(text) }
        }
    }
}
