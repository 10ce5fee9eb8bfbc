import Foundation
import Testing

@testable import EggloguTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// The test broker itself: a port something else took between choosing and starting.
@Suite struct BrokerHarnessTests {
    /// A socket listening on a free loopback port, closed when the holder goes (and not inherited
    /// by mosquitto, which would then hold it too).
    final class PortHolder {
        let port = Broker.freePort()
        private let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)

        init() throws {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard bound == 0 else { throw HolderError(call: "bind", port: port, errno: errno) }
            guard listen(fd, 4) == 0 else { throw HolderError(call: "listen", port: port, errno: errno) }
        }

        deinit { close(fd) }
    }

    struct HolderError: Error {
        let call: String
        let port: Int
        let errno: Int32
    }

    @Test func aTakenPortNobodyReadIsExchangedForAFreeOne() throws {
        let holder = try PortHolder()
        let broker = try Broker(port: holder.port)
        try broker.start()
        #expect(broker.port != holder.port)
        #expect(Broker.accepts(broker.port))
        broker.kill()
        #expect(!Broker.accepts(broker.port))
        withExtendedLifetime(holder) {}
    }

    /// Clients configured with the port would reach whatever holds it: the start fails instead.
    @Test func aTakenPortAlreadyReadFailsTheStart() throws {
        let holder = try PortHolder()
        let broker = try Broker(port: holder.port)
        #expect(broker.port == holder.port)
        #expect(throws: BrokerError.self) { try broker.start() }
        withExtendedLifetime(holder) {}
    }
}
