import EggloguTestSupport
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A broker rendered from mosquitto/ by `render-local.sh` (the real configuration, with loopback
/// ports and paths), run as a child process.
final class RenderedBroker: @unchecked Sendable {
    let directory = TemporaryDirectory()
    /// The plain MQTT port (central: the sync server's; gateway: the LAN's).
    let mqttPort = Broker.freePort()
    let tlsPort = Broker.freePort()
    let webSocketsPort = Broker.freePort()
    private var pid: pid_t?

    var path: String { directory.path }
    var caFile: String { directory.file("tls/ca.pem") }
    var otherCAFile: String { directory.file("certs/other-ca.pem") }

    /// Renders the central broker (with a test CA made by make-test-certs.sh).
    static func central() throws -> RenderedBroker {
        let broker = RenderedBroker()
        try broker.render([
            "central", broker.path, "--mqtt-port", "\(broker.mqttPort)", "--tls-port", "\(broker.tlsPort)", "--ws-port", "\(broker.webSocketsPort)",
        ])
        return broker
    }

    /// Renders a gateway broker, bridged as a provisioning bundle's `gateway-broker/` says.
    static func gateway(bundle: String) throws -> RenderedBroker {
        let broker = RenderedBroker()
        try broker.render(["gateway", broker.path, "--mqtt-port", "\(broker.mqttPort)", "--bundle", bundle])
        return broker
    }

    private func render(_ arguments: [String]) throws {
        let rendered = try DeployFixture.script("mosquitto/render-local.sh", arguments)
        guard rendered.status == 0 else { throw RenderError(output: rendered.stderr) }
    }

    /// Adds a user with `mosquitto_passwd` (the sync server's, say).
    func addUser(_ name: String, password: String) throws {
        let added = try Subprocess.runTool("/usr/bin/mosquitto_passwd", ["-b", directory.file("passwd"), name, password])
        guard added.status == 0 else { throw RenderError(output: added.stderr) }
    }

    /// Starts mosquitto with posix_spawn and an empty signal mask: a child of Foundation's
    /// `Process` inherits the test runner's blocked signals and would never see SIGHUP.
    func start(ports: [Int]) throws {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGHUP, SIGTERM, SIGINT, SIGPIPE] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let arguments = ["/usr/sbin/mosquitto", "-c", directory.file("mosquitto.conf")]
        var argv = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var child = pid_t()
        guard posix_spawn(&child, arguments[0], nil, &attributes, &argv, environ) == 0 else { throw RenderError(output: "cannot start mosquitto") }
        pid = child
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if ports.allSatisfy(Broker.accepts) { return }
            guard kill(child, 0) == 0 else { break }
            usleep(20_000)
        }
        throw RenderError(output: log)
    }

    /// Re-reads passwd and acl, as `systemctl reload mosquitto` does.
    func reload() {
        guard let pid else { return }
        let before = log.components(separatedBy: "Reloading config.").count
        kill(pid, SIGHUP)
        let deadline = Date().addingTimeInterval(5)
        while Date() < deadline, log.components(separatedBy: "Reloading config.").count == before { usleep(20_000) }
    }

    var log: String { (try? String(contentsOfFile: directory.file("mosquitto.log"), encoding: .utf8)) ?? "" }

    deinit {
        if let pid {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
    }
}

struct RenderError: Error, CustomStringConvertible {
    let output: String
    var description: String { output }
}
