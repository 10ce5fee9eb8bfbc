import EggloguFixtures
import EggloguTestSupport
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// What the soak runs on, and the faults it injects: a real broker, the server (one instance on
/// SQLite, or two sharing a PostgreSQL database), three `egglogu-agent run` services, each reaching
/// its instance and the broker through fault proxies of its own, gw-2's replica on a small disk, and
/// gw-3's wall clock under a ``ClockShift``.
final class SoakLab: @unchecked Sendable {
    static let devices = ["gw-1", "gw-2", "gw-3"]
    /// The device whose wall clock jumps.
    static let shifted = "gw-3"
    /// The device whose replica lives on a disk that fills up.
    static let cramped = "gw-2"

    let fixture: RealtimeFixture
    let database: String?
    let disk: SmallDisk?
    let clock: ClockShift
    let serverProxies: [String: FaultProxy]
    let brokerProxies: [String: FaultProxy]

    init(backend: StoreBackend) throws {
        database = backend == .postgres ? try PostgresServer.shared().createDatabase() : nil
        fixture = try RealtimeFixture(database: database, instances: backend == .postgres ? 2 : 1)
        // The replica on a disk of its own, which fills up now and then (root only).
        disk = SmallDisk.isAvailable ? try SmallDisk(megabytes: 24) : nil
        if let disk { fixture.replicaLocations[Self.cramped] = disk.file("\(Self.cramped).sqlite") }
        clock = try ClockShift(in: fixture.directory)
        fixture.agentEnvironments[Self.shifted] = clock.environment
        var serverProxies: [String: FaultProxy] = [:]
        var brokerProxies: [String: FaultProxy] = [:]
        for (n, device) in Self.devices.enumerated() {
            let server = try FaultProxy(to: fixture.serverPorts[n % fixture.serverPorts.count])
            let broker = try FaultProxy(to: fixture.broker.port)
            fixture.agentServerURLs[device] = server.url
            fixture.agentBrokerPorts[device] = broker.port
            serverProxies[device] = server
            brokerProxies[device] = broker
        }
        self.serverProxies = serverProxies
        self.brokerProxies = brokerProxies
    }

    func startAgents() throws {
        for device in Self.devices { try fixture.startAgent(device, pollInterval: 2) }
    }

    func stop() {
        fixture.stopAll()
        for proxy in Array(serverProxies.values) + Array(brokerProxies.values) { proxy.stop() }
    }

    /// A fault in force while the writers go on; ``end`` lifts it.
    struct Ongoing: Sendable {
        let until: Date
        let end: @Sendable () throws -> Void
    }

    /// Starts one fault, chosen at random, and returns its name and how it ends; the writers go on
    /// while it lasts (a killed gateway's replica takes writes, browsers sync against a dead
    /// instance). A clock jump has no end: the clock stays where it jumped until the next one.
    func inject(ledger: inout SoakLedger, random: inout FixtureRandom) throws -> (name: String, ongoing: Ongoing?) {
        func lasting(_ milliseconds: Int, _ end: @escaping @Sendable () throws -> Void) -> Ongoing {
            Ongoing(until: Date().addingTimeInterval(Double(milliseconds) / 1_000), end: end)
        }
        switch random.below(7) {
        case 0:
            let device = Self.devices[random.below(Self.devices.count)]
            fixture.agents[device]?.send(SIGKILL)
            _ = fixture.agents[device]?.stop(graceful: false)
            return ("agent kill -9", lasting(200 + random.below(4_800)) { [fixture] in try fixture.startAgent(device, pollInterval: 2) })
        case 1:
            let instance = random.below(fixture.serverPorts.count)
            fixture.servers[instance]?.send(SIGKILL)
            _ = fixture.servers[instance]?.stop(graceful: false)
            return ("server kill -9", lasting(200 + random.below(1_500)) { [fixture] in try fixture.startServer(instance) })
        case 2:
            fixture.broker.kill()
            return ("broker stop/start", lasting(500 + random.below(2_500)) { [fixture] in try fixture.broker.start() })
        case 3:
            // The device's clock, in the agent process and in its writes alike. Within the 5 minutes
            // of skew the server accepts: further ahead, a write waits for the server's clock.
            let offset = Int64(random.below(480_001)) - 240_000
            try clock.set(milliseconds: offset)
            ledger.clockOffsets[Self.shifted] = offset
            return (offset >= 0 ? "clock jump forward" : "clock jump back", nil)
        case 4:
            let fault = [FaultProxy.Fault.reset, .stall, .error500, .halfClose][random.below(4)]
            let proxies = Array(serverProxies.values)
            for proxy in proxies { proxy.set(fault) }
            return ("network: \(fault.rawValue)", lasting(300 + random.below(2_700)) { for proxy in proxies { proxy.set(.none) } })
        case 5:
            guard let disk else { return ("disk full (skipped: not root)", nil) }
            try disk.fill()
            return ("disk full", lasting(500 + random.below(2_500)) { disk.release() })
        default:
            // Cut off from the server and the broker alike: silently (nothing passes, as when a
            // link drops packets) or loudly (every connection reset).
            let device = Self.devices[random.below(Self.devices.count)]
            let fault: FaultProxy.Fault = random.below(2) == 0 ? .stall : .reset
            let proxies = [serverProxies[device]!, brokerProxies[device]!]
            for proxy in proxies { proxy.set(fault) }
            return (
                "partition (\(fault == .stall ? "silent" : "refused"))",
                lasting(1_000 + random.below(5_000)) { for proxy in proxies { proxy.set(.none) } }
            )
        }
    }

    /// Everything running again: the broker, every instance and every agent; the proxies pass.
    func heal() throws {
        for proxy in Array(serverProxies.values) + Array(brokerProxies.values) { proxy.set(.none) }
        disk?.release()
        if !Broker.accepts(fixture.broker.port) { try fixture.broker.start() }
        for instance in fixture.serverPorts.indices where fixture.servers[instance]?.isRunning != true { try fixture.startServer(instance) }
        for device in Self.devices where fixture.agents[device]?.isRunning != true { try fixture.startAgent(device, pollInterval: 2) }
    }

    /// The server's SQLite files (none when the farms live in PostgreSQL).
    var serverFiles: [String] {
        let root = fixture.directory.file("server")
        let files = FileManager.default.enumerator(atPath: root)?.compactMap { $0 as? String } ?? []
        return files.filter { $0.hasSuffix(".sqlite") }.map { root + "/" + $0 }
    }
}
