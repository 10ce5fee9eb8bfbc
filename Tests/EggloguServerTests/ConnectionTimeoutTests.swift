import EggloguTestSupport
import EggloguTestTraits
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A plain TCP connection, to send exactly the bytes a slow or silent client sends.
final class RawConnection {
    let fd: Int32

    init?(port: Int, receiveBuffer: Int32? = nil) {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        if var size = receiveBuffer { setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size)) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        guard connected else {
            close(fd)
            return nil
        }
    }

    /// A connection whose receive buffer is small, so a client that never reads fills it at once.
    static func neverReading(port: Int) -> RawConnection? {
        RawConnection(port: port, receiveBuffer: 4096)
    }

    func send(_ text: String) {
        _ = Array(text.utf8).withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// Whether the server closed the connection within `seconds`.
    func isClosed(within seconds: Double) -> Bool {
        var timeout = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - Double(Int(seconds))) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n == 0 { return true }
            if n < 0 { return errno == ECONNRESET }
        }
    }

    deinit {
        close(fd)
    }
}

/// The server's connection deadlines, against the server binary: idle connections, a head sent a
/// byte at a time and a trickled body are all closed, and a server out of descriptors serves again.
@Suite(.ownThreads) struct ConnectionTimeoutTests {
    /// The server binary on a free port, its data in `data` (default: `dir`'s `data`), with the
    /// deadlines of `environment`; and that port.
    func serve(in dir: TemporaryDirectory, data: String? = nil, _ environment: [String: String]) async throws -> (ChildService, Int) {
        let server = ChildService(
            "egglogu-sync-server",
            ["serve", "--port", "0", "--data-dir", data ?? dir.file("data")],
            environment: environment,
            in: dir
        )
        try await offPool { try server.start(waitingFor: "listening on") }
        let port = try #require(server.stdout.split(separator: ":").last.flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) })
        return (server, port)
    }
    @Test func idleSlowAndTricklingConnectionsAreClosedAndHealthzIsServedAgain() async throws {
        let dir = TemporaryDirectory()
        let (server, port) = try await serve(
            in: dir,
            ["EGGLOGU_SYNC_IDLE_TIMEOUT": "1", "EGGLOGU_SYNC_HEADER_TIMEOUT": "1", "EGGLOGU_SYNC_BODY_TIMEOUT": "1.5"]
        )
        let pid = try #require(server.pid)

        let results = try await offPool { () -> (slowHead: Bool, slowBody: Bool, idle: Bool, healthy: Bool, refusedWhileFull: Bool) in
            // A head that never completes, and a body that never does.
            let slowHead = RawConnection(port: port)!
            slowHead.send("POST /api/v1/sync HTTP/1.1\r\nHost: x\r\n")
            let slowBody = RawConnection(port: port)!
            slowBody.send("POST /api/v1/sync HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{\"data\":")
            let headClosed = slowHead.isClosed(within: 4)
            let bodyClosed = slowBody.isClosed(within: 4)

            // A server limited to 64 descriptors, and 80 connections that say nothing.
            _ = try Subprocess.runTool("/usr/bin/prlimit", ["--pid", "\(pid)", "--nofile=64:64"])
            let idle = (0..<80).compactMap { _ in RawConnection(port: port) }
            let healthz = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            let probe = RawConnection(port: port)!
            probe.send(healthz)
            // With every descriptor taken, the probe is not even accepted before the idle ones go.
            let refusedWhileFull = !probe.isClosed(within: 0.3)
            let idleClosed = idle.prefix(40).allSatisfy { $0.isClosed(within: 5) }
            var healthy = false
            for _ in 0..<50 where !healthy {
                if let check = RawConnection(port: port) {
                    check.send(healthz)
                    var timeout = timeval(tv_sec: 2, tv_usec: 0)
                    setsockopt(check.fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
                    var buffer = [UInt8](repeating: 0, count: 512)
                    let n = recv(check.fd, &buffer, buffer.count, 0)
                    healthy = n > 0 && String(decoding: buffer[..<n], as: UTF8.self).hasPrefix("HTTP/1.1 200")
                }
                if !healthy { usleep(100_000) }
            }
            return (headClosed, bodyClosed, idleClosed, healthy, refusedWhileFull)
        }
        #expect(results.slowHead, "a head sent a byte at a time is closed")
        #expect(results.slowBody, "a trickled body is closed")
        #expect(results.idle, "idle connections are closed")
        #expect(results.healthy, "once they are, /healthz is served again")
        #expect(results.refusedWhileFull, "the control: with every descriptor taken, nothing is served")
        try await offPool { _ = server.stop() }
    }

    /// A request answered before its body ended (a 401 before the body is read) left the next
    /// request without a header deadline: its head, sent a byte at a time, was then held open.
    @Test func aRequestAnsweredBeforeItsBodyEndedLeavesTheNextHeadItsDeadline() async throws {
        let dir = TemporaryDirectory()
        let (server, port) = try await serve(
            in: dir,
            ["EGGLOGU_SYNC_IDLE_TIMEOUT": "5", "EGGLOGU_SYNC_HEADER_TIMEOUT": "1", "EGGLOGU_SYNC_BODY_TIMEOUT": "3"]
        )
        let (answer, closedAfter) = try await offPool { () -> (String, Int?) in
            let connection = try #require(RawConnection(port: port))
            connection.send("POST /api/v1/sync/delta HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 4\r\n\r\n{")
            var timeout = timeval(tv_sec: 3, tv_usec: 0)
            setsockopt(connection.fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            var buffer = [UInt8](repeating: 0, count: 4096)
            let n = recv(connection.fd, &buffer, buffer.count, 0)
            let answer = n > 0 ? String(decoding: buffer[..<n], as: UTF8.self) : ""
            connection.send("}  ")
            for (sent, byte) in "GET /healthz HTTP/1.1\r\nHost: x\r\n".enumerated() {
                connection.send(String(byte))
                usleep(400_000)
                let left = recv(connection.fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
                if left == 0 || (left < 0 && errno == ECONNRESET) { return (answer, sent + 1) }
            }
            return (answer, nil)
        }
        #expect(answer.hasPrefix("HTTP/1.1 401"), "answered before the body ended: \(answer.prefix(40))")
        let bytes = try #require(closedAfter, "a head sent a byte every 0.4 s must be cut off at its 1 s deadline")
        #expect(bytes <= 5)
        try await offPool { _ = server.stop() }
    }

    /// Two clients that ask for a streamed answer and never read it held both heavy-request permits
    /// for as long as they liked, so every farm's large requests waited behind them.
    @Test func clientsThatNeverReadAStreamedAnswerAreCutOffAndOthersAreServed() async throws {
        let dir = TemporaryDirectory()
        let data = dir.file("data")
        try FileManager.default.createDirectory(atPath: data + "/farms", withIntermediateDirectories: true)
        try await HostileLoadTests.bigFarm(at: data + "/farms/big.sqlite", count: 30_000)
        let (server, port) = try await serve(in: dir, data: data, ["EGGLOGU_SYNC_SEND_TIMEOUT": "1"])
        let token = try await offPool {
            try Subprocess.run("egglogu-sync-server", ["token", "--data-dir", data, "--farm", "big", "--device", "phone"], in: dir).stdout
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let body = #"{"last_synced_at":null,"data":{}}"#
        let pull =
            "POST /api/v1/sync HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(token)\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
        let results = try await offPool { () -> (cutOff: Bool, servedBytes: Int) in
            let stalled = (0..<2).compactMap { _ in RawConnection.neverReading(port: port) }
            for connection in stalled { connection.send(pull) }
            sleep(1)
            // Both permits are taken: this one waits until the stalled answers are cut off.
            let reader = RawConnection(port: port)!
            reader.send(pull.replacingOccurrences(of: "HTTP/1.1\r\n", with: "HTTP/1.1\r\nConnection: close\r\n"))
            var timeout = timeval(tv_sec: 20, tv_usec: 0)
            setsockopt(reader.fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            var buffer = [UInt8](repeating: 0, count: 1 << 16)
            var received = 0
            while true {
                let n = recv(reader.fd, &buffer, buffer.count, 0)
                if n <= 0 { break }
                received += n
            }
            return (stalled.count == 2 && stalled.allSatisfy { $0.isClosed(within: 10) }, received)
        }
        #expect(results.cutOff, "the stalled connections are closed")
        #expect(results.servedBytes > 10 << 20, "the whole farm reached the client that reads: \(results.servedBytes) bytes")
        try await offPool { _ = server.stop() }
    }
}
