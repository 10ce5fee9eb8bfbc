import EggloguTestSupport
import EggloguTestTraits
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The soak's network faults are real: each one does to a request what it says.
@Suite(.ownThreads) struct FaultProxyTests {
    @Test func eachFaultBreaksARequestAsItSays() async throws {
        let fixture = try RealtimeFixture()
        defer { fixture.stopAll() }
        let proxy = try FaultProxy(to: fixture.serverPort)
        defer { proxy.stop() }
        #expect(Self.get(port: proxy.port).hasPrefix("HTTP/1.1 200"))
        proxy.set(.error500)
        #expect(Self.get(port: proxy.port).hasPrefix("HTTP/1.1 500"))
        proxy.set(.reset)
        #expect(Self.get(port: proxy.port) == "reset")
        proxy.set(.halfClose)
        #expect(Self.get(port: proxy.port) == "")
        proxy.set(.stall)
        #expect(Self.get(port: proxy.port, timeout: 1) == "timeout")
        proxy.set(.none)
        #expect(Self.get(port: proxy.port).hasPrefix("HTTP/1.1 200"))
    }

    /// `GET /healthz` through `port`: the answer's text, "" for end of file, "reset" or "timeout".
    /// The timeout is long by default: at the start of a CI run, with every suite starting at once,
    /// a reset once took more than 5 s to arrive.
    static func get(port: Int, timeout: Int32 = 30) -> String {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr = in_addr(s_addr: inet_addr("127.0.0.1"))
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { return "reset" }
        var wait = timeval(tv_sec: Int(timeout), tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, socklen_t(MemoryLayout<timeval>.size))
        let request = Array("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8)
        _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 {
                answer += buffer[..<n]
                continue
            }
            if n < 0 && answer.isEmpty {
                return errno == ECONNRESET ? "reset" : (errno == EAGAIN || errno == EWOULDBLOCK) ? "timeout" : "error \(errno)"
            }
            return String(decoding: answer, as: UTF8.self)
        }
    }
}
