import EggloguJSON
import EggloguMQTT
import EggloguStore
import Foundation
import GRDB

#if canImport(Glibc)
import Glibc
#endif

/// Propagation between two agent services through a real broker and server, and an idle agent's cost.
struct RealtimeBenchmarks {
    let work: String
    let products: URL
    var busyArrival = false

    private func binary(_ name: String) -> String { products.appendingPathComponent(name).path }

    /// Runs the receiving agent (B) and the idle one through `confinement` when given, whose label
    /// then names the figures.
    func run(
        into figures: inout Figures,
        edits: Int,
        idleSettle: Double,
        idleSeconds: Double,
        idleAgent: String?,
        confinement: (label: String, confine: (String, [String]) -> (String, [String]))? = nil
    ) async throws {
        let label = confinement?.label ?? "realtime"
        func confined(_ binary: String, _ arguments: [String]) -> (String, [String]) {
            confinement?.confine(binary, arguments) ?? (binary, arguments)
        }
        let farm = try BenchFarm(directory: work, products: products, farm: "bench")
        defer { farm.stop() }
        let brokerPort = farm.brokerPort
        var agents: [pid_t] = []
        defer { agents.forEach(Self.stop) }
        for device in ["gw-a", "gw-b"] {
            let command = try farm.agentArguments(for: device)
            let agent = binary("egglogu-agent")
            let (program, arguments) = device == "gw-b" ? confined(agent, command) : (agent, command)
            agents.append(try Self.spawn(program, arguments, log: "\(work)/\(device).log"))
        }
        try Self.waitFor("broker connected", in: "\(work)/gw-a.log")
        try Self.waitFor("broker connected", in: "\(work)/gw-b.log")
        usleep(500_000)

        var configuration = ReplicaConfiguration()
        configuration.deviceID = "gw-a"
        let a = try await Replica.open(path: "\(work)/gw-a.sqlite", configuration: configuration)
        let b = try Arrival(path: "\(work)/gw-b.sqlite", busy: busyArrival)
        var delays: [Double] = []
        for n in 0..<edits {
            let start = DispatchTime.now()
            try await a.put("flocks", ["id": .string("edit-\(n)"), "count": .number(JSONNumber(n))])
            try b.wait(for: "edit-\(n)", since: start)
            delays.append(Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e6)
            usleep(100_000)
        }
        figures.line("\(label): put on agent A until it is in agent B's replica (\(edits) edits, default settings)", Self.percentiles(delays))
        figures.line(
            "\(label): the floor, a bare publish to receive through the same broker",
            Self.percentiles(try await floor(port: brokerPort, messages: edits))
        )

        // The idle agent: a fresh service (the binary a gateway runs), settled, then watched.
        agents.forEach(Self.stop)
        agents = []
        let (idleProgram, idleArguments) = confined(idleAgent ?? binary("egglogu-agent"), ["run", "--config", "\(work)/gw-b.conf"])
        let idle = try Self.spawn(idleProgram, idleArguments, log: "\(work)/idle.log")
        agents.append(idle)
        try Self.waitFor("broker connected", in: "\(work)/idle.log")
        usleep(useconds_t(idleSettle * 1e6))
        let (cpu0, _) = try Self.usage(idle)
        let started = Date()
        var peak = 0
        while Date().timeIntervalSince(started) < idleSeconds {
            usleep(1_000_000)
            peak = max(peak, try Self.usage(idle).rss)
        }
        let (cpu1, rss) = try Self.usage(idle)
        figures.line(
            "\(label): idle agent over \(Int(idleSeconds)) s (\(idleAgent == nil ? "this build" : URL(fileURLWithPath: idleAgent!).path))",
            String(format: "CPU %.3f s, RSS %.1f MB (peak %.1f MB)", cpu1 - cpu0, Double(rss) / 1_048_576, Double(max(peak, rss)) / 1_048_576)
        )
    }

    /// publish → on_message between two clients of this process, through the broker.
    private func floor(port: Int, messages: Int) async throws -> [Double] {
        var listenerConfiguration = MQTTConfiguration(host: "127.0.0.1", port: port, clientID: "bench-listener")
        listenerConfiguration.subscriptions = ["bench/floor"]
        let listener = try MQTTClient(configuration: listenerConfiguration)
        let speaker = try MQTTClient(configuration: MQTTConfiguration(host: "127.0.0.1", port: port, clientID: "bench-speaker"))
        async let l: Void = listener.run()
        async let s: Void = speaker.run()
        var listenerEvents = listener.events.makeAsyncIterator()
        var speakerEvents = speaker.events.makeAsyncIterator()
        while await listenerEvents.next() != .connected {}
        while await speakerEvents.next() != .connected {}
        try await Task.sleep(for: .milliseconds(200))
        var delays: [Double] = []
        for n in 0..<messages {
            let start = DispatchTime.now()
            try speaker.publish(topic: "bench/floor", payload: Array("\(n)".utf8))
            while let event = await listenerEvents.next() {
                if case .message = event { break }
            }
            delays.append(Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e6)
        }
        listener.stop()
        speaker.stop()
        _ = await (l, s)
        return delays
    }

    static func percentiles(_ values: [Double]) -> String {
        let sorted = values.sorted()
        func at(_ p: Double) -> Double { sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] }
        return String(format: "p50 %.2f ms, p99 %.2f ms, max %.2f ms", at(0.5), at(0.99), sorted.last!)
    }

    /// CPU seconds (user + system) and resident bytes of a process, from /proc.
    static func usage(_ pid: pid_t) throws -> (cpu: Double, rss: Int) {
        let stat = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
        let fields = stat[stat.index(after: stat.lastIndex(of: ")")!)...].split(separator: " ")
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let cpu = (Double(fields[11])! + Double(fields[12])!) / ticks
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        let rssLine = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? "VmRSS: 0 kB"
        let kb = Int(rssLine.split(separator: " ").dropFirst().first ?? "0") ?? 0
        return (cpu, kb * 1024)
    }

    static func spawn(_ binary: String, _ arguments: [String], log: String) throws -> pid_t {
        let words: [String] = [binary] + arguments
        let argv: [UnsafeMutablePointer<CChar>?] = words.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // Worker threads block signals; the child must start with none blocked, or SIGTERM would not stop it.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var pid: pid_t = 0
        let directory = URL(fileURLWithPath: log).deletingLastPathComponent().path
        let saved = FileManager.default.currentDirectoryPath
        guard FileManager.default.changeCurrentDirectoryPath(directory) else { throw BenchError("cannot enter \(directory)") }
        defer { _ = FileManager.default.changeCurrentDirectoryPath(saved) }
        guard posix_spawn(&pid, binary, &actions, &attributes, argv, environ) == 0 else { throw BenchError("cannot start \(binary)") }
        return pid
    }

    static func stop(_ pid: pid_t) {
        kill(pid, SIGTERM)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
    }

    static func waitFor(_ text: String, in log: String) throws {
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if (try? String(contentsOfFile: log, encoding: .utf8))?.contains(text) == true { return }
            usleep(20_000)
        }
        throw BenchError("\(log) never said \(text)")
    }

    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
