import Foundation
import Testing

@testable import EggloguTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// The test broker itself: a port something else took between choosing and starting.
@Suite struct BrokerHarnessTests {
    /// A socket listening on a free loopback port, closed when the holder goes (and not inherited
    /// by mosquitto, which would then hold it too). A child spawned by another test at the moment
    /// `freePort` probed the port holds the probe until it execs, so a bind can still meet it: the
    /// holder then takes another port.
    final class PortHolder {
        let port: Int
        private let fd: Int32

        init() throws {
            for _ in 1...20 {
                let port = Broker.freePort()
                let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
                var address = sockaddr_in()
                address.sin_family = sa_family_t(AF_INET)
                address.sin_port = in_port_t(UInt16(port).bigEndian)
                address.sin_addr.s_addr = inet_addr("127.0.0.1")
                let bound = withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
                }
                if bound == 0 && listen(fd, 4) == 0 {
                    self.port = port
                    self.fd = fd
                    return
                }
                close(fd)
            }
            throw HolderError()
        }

        deinit { close(fd) }
    }

    struct HolderError: Error {}

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

    /// `/proc/net/tcp` beyond its first 4 KB: in CI, many other sockets came before the broker's.
    @Test func aBrokerIsSeenListeningBehindManyOtherSockets() throws {
        let others = try (0..<200).map { _ in try PortHolder() }
        let broker = try Broker()
        try broker.start()
        #expect(Broker.accepts(broker.port))
        withExtendedLifetime(others) {}
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
