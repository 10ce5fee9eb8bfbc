import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A TCP proxy on loopback between clients and a server that breaks their connections on demand,
/// the way a farm's network does: resets, a 500 from a middlebox, stalls, half-closed connections.
/// Each connection gets two threads of its own; the fault in force is checked at every read.
public final class FaultProxy: Sendable {
    public enum Fault: String, Sendable, CaseIterable {
        /// Bytes pass both ways.
        case none
        /// Every connection with traffic is reset (RST), and new ones too.
        case reset
        /// Nothing is read or forwarded until the fault changes.
        case stall
        /// A request is answered `500 Internal Server Error` here and its connection closed.
        case error500
        /// The client's side is closed for writing as soon as it sends: it reads end of file.
        case halfClose
    }

    public let port: Int
    private let target: Int
    private let listener: Int32
    private let state = Mutex<(fault: Fault, stopped: Bool, sockets: Set<Int32>)>((.none, false, []))

    /// Listens on a free loopback port and forwards to `targetPort` on loopback.
    public init(to targetPort: Int) throws {
        target = targetPort
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = FaultProxy.loopback(port: 0)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 64) == 0 else {
            close(fd)
            throw FaultProxyError(message: "the fault proxy cannot listen: \(String(cString: strerror(errno)))")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        listener = fd
        port = Int(UInt16(bigEndian: address.sin_port))
        let thread = Thread { [self] in acceptLoop() }
        thread.name = "fault-proxy-accept"
        thread.start()
    }

    public var url: String { "http://127.0.0.1:\(port)" }

    /// Puts `fault` in force for every connection, open or new.
    public func set(_ fault: Fault) {
        state.withLock { $0.fault = fault }
    }

    /// Closes the listener and every connection.
    public func stop() {
        let (sockets, first) = state.withLock { state in
            defer { state.stopped = true }
            return (state.sockets, !state.stopped)
        }
        guard first else { return }
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
        for fd in sockets { shutdown(fd, Int32(SHUT_RDWR)) }
    }

    deinit {
        stop()
    }

    private var fault: Fault { state.withLock { $0.fault } }
    private var isStopped: Bool { state.withLock { $0.stopped } }

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            guard client >= 0 else {
                if errno == EINTR { continue }
                return
            }
            _ = fcntl(client, F_SETFD, FD_CLOEXEC)
            let server = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            var address = FaultProxy.loopback(port: target)
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(server, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            let open = state.withLock { state -> Bool in
                guard !state.stopped else { return false }
                state.sockets.formUnion([client, server])
                return true
            }
            guard open, connected == 0 else {
                close(client)
                close(server)
                forget(client, server)
                continue
            }
            let connection = Connection(client: client, server: server)
            for requests in [true, false] {
                let thread = Thread { [self] in
                    pump(connection, requests: requests)
                    if connection.finish() { forget(client, server) }
                }
                thread.start()
            }
        }
    }

    /// Copies one direction of `connection` under the fault in force: `requests` is the client to
    /// server direction, where a 500 or a half close is played.
    private func pump(_ connection: Connection, requests: Bool) {
        let source = requests ? connection.client : connection.server
        let destination = requests ? connection.server : connection.client
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        var resetting = false
        // A FIN before the RST would read as a clean end of file.
        defer { if !resetting { shutdown(destination, Int32(SHUT_WR)) } }
        while true {
            // A stall holds whatever arrives without looking at it: polling a readable socket (data
            // or an end of file) in a loop kept two cores busy for the rest of a CI run.
            if isStopped { return }
            if fault == .stall {
                usleep(50_000)
                continue
            }
            var descriptor = pollfd(fd: source, events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, 100)
            if ready < 0 && errno != EINTR { return }
            let now = fault
            if now == .stall { continue }
            if now == .reset || connection.isReset {
                connection.reset()
                resetting = true
                return
            }
            guard ready > 0 else { continue }
            let count = buffer.withUnsafeMutableBytes { read(source, $0.baseAddress, $0.count) }
            guard count > 0 else { return }
            if requests && now == .error500 {
                let answer = Array("HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".utf8)
                _ = answer.withUnsafeBytes { send(source, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                shutdown(source, Int32(SHUT_RDWR))
                shutdown(destination, Int32(SHUT_RDWR))
                return
            }
            var sent = 0
            while sent < count {
                // MSG_NOSIGNAL: a peer gone (reset) is an error here, not a SIGPIPE for the whole test process.
                let n = buffer.withUnsafeBytes { send(destination, $0.baseAddress! + sent, count - sent, Int32(MSG_NOSIGNAL)) }
                guard n > 0 else { return }
                sent += n
            }
            if requests && now == .halfClose {
                shutdown(source, Int32(SHUT_WR))
            }
        }
    }

    private func forget(_ fds: Int32...) {
        state.withLock { state in
            for fd in fds { state.sockets.remove(fd) }
        }
    }

    private static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr = in_addr(s_addr: inet_addr("127.0.0.1"))
        return address
    }
}

/// One proxied connection: its two sockets, closed by whichever direction finishes last, so a
/// socket number is never reused while the other direction still reads it.
private final class Connection: Sendable {
    let client: Int32
    let server: Int32
    private let state = Mutex<(running: Int, reset: Bool)>((2, false))

    init(client: Int32, server: Int32) {
        self.client = client
        self.server = server
    }

    var isReset: Bool { state.withLock { $0.reset } }

    /// Asks for an RST to the client when the sockets close.
    func reset() {
        state.withLock { $0.reset = true }
    }

    /// Called once by each direction as it ends; the last one closes both sockets (with an RST to
    /// the client when asked) and returns true.
    func finish() -> Bool {
        let (last, reset) = state.withLock { state in
            state.running -= 1
            return (state.running == 0, state.reset)
        }
        guard last else { return false }
        if reset {
            var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
            setsockopt(client, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        }
        close(client)
        close(server)
        return true
    }
}

public struct FaultProxyError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
