import EggloguSystemd
import EggloguTestSupport
import EggloguTestTraits
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// sd_notify as plain datagrams, against a socket the test listens on.
@Suite(.ownThreads) struct SystemdNotifyTests {
    @Test(arguments: [false, true]) func theNotifierReachesAPathAndAnAbstractSocket(abstract: Bool) throws {
        let directory = TemporaryDirectory()
        let socket = try NotifySocket(abstract: abstract, in: directory)
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": socket.address, "WATCHDOG_USEC": "4000000"])
        #expect(notifier.watchdogInterval == .seconds(4))
        notifier.ready(status: "up")
        notifier.watchdog()
        #expect(socket.wait { $0.contains("READY=1") }?.contains("STATUS=up") == true)
        #expect(socket.wait { $0 == "WATCHDOG=1" } != nil)
    }

    @Test func withoutASocketNothingIsSentAndAnotherProcessesWatchdogIsIgnored() throws {
        #expect(!SystemdNotifier(environment: [:]).isActive)
        #expect(!SystemdNotifier(environment: [:]).send(["READY=1"]))
        let foreign = SystemdNotifier(environment: ["NOTIFY_SOCKET": "@x", "WATCHDOG_USEC": "1000000", "WATCHDOG_PID": "1"])
        #expect(foreign.watchdogInterval == nil)
    }

    /// The agent, as systemd runs it: READY once the replica is open even though the server is
    /// unreachable, STATUS lines with the mode and queued changes, watchdog pings, RELOADING on
    /// SIGHUP and STOPPING on SIGTERM.
    @Test(arguments: [false, true]) func theAgentTalksToSystemd(abstract: Bool) throws {
        let directory = TemporaryDirectory()
        let socket = try NotifySocket(abstract: abstract, in: directory)
        let token = try directory.writeSecret(DeployFixture.unsignedToken(device: "gw-n", farm: "farm-n"), to: "token")
        let replica = directory.file("replica.sqlite")
        #expect(
            try Subprocess.run(
                "egglogu-agent",
                ["put", "--replica", replica, "--farm-id", "farm-n", "--device-id", "gw-n", "flocks", #"{"id":"f1"}"#],
                in: directory
            ).status == 0
        )
        let agent = ChildService(
            "egglogu-agent",
            ["run", "--replica", replica, "--server-url", "http://127.0.0.1:9", "--token-file", token],
            environment: ["NOTIFY_SOCKET": socket.address, "WATCHDOG_USEC": "2000000", "EGGLOGU_POLL_INTERVAL": "0.5"],
            in: directory
        )
        try agent.start()
        defer { agent.stop() }
        #expect(socket.wait { $0.contains("READY=1") } != nil, "\(agent.stderr)")
        let unpushed =
            try Subprocess.run("egglogu-agent", ["status", "--replica", replica, "--json"], in: directory).stdout
            .split(separator: "\n").first { $0.contains("\"unpushed\"") }?.filter(\.isNumber) ?? ""
        #expect(!unpushed.isEmpty && unpushed != "0")
        let status = socket.wait { $0.hasPrefix("STATUS=offline (server: cannot reach http://127.0.0.1:9") }
        #expect(status?.hasSuffix(", \(unpushed) queued changes") == true, "\(socket.messages)")
        #expect(socket.wait { $0 == "WATCHDOG=1" } != nil)

        let mark = socket.messages.count
        agent.send(SIGHUP)
        #expect(socket.wait(after: mark) { $0.contains("RELOADING=1") && $0.contains("MONOTONIC_USEC=") } != nil)
        #expect(socket.wait(after: mark) { $0.contains("READY=1") } != nil)
        let stopped = agent.stop()
        #expect(stopped?.status == 0)
        #expect(socket.messages.contains { $0.contains("STOPPING=1") })
        #expect(!(stopped?.stderr.contains(try String(contentsOfFile: token, encoding: .utf8)) ?? true), "never a secret in logs")
    }

    /// The server: READY once it listens, watchdog pings while its database answers.
    @Test func theServerTalksToSystemd() throws {
        let directory = TemporaryDirectory()
        let socket = try NotifySocket(abstract: true, in: directory)
        let server = ChildService(
            "egglogu-sync-server",
            ["serve", "--data-dir", directory.file("data"), "--port", "0"],
            environment: ["NOTIFY_SOCKET": socket.address, "WATCHDOG_USEC": "1000000"],
            in: directory
        )
        try server.start(waitingFor: "listening on")
        #expect(socket.wait { $0.contains("READY=1") } != nil)
        #expect(socket.wait { $0.hasPrefix("STATUS=serving on http://127.0.0.1:") } != nil)
        #expect(socket.wait { $0 == "WATCHDOG=1" } != nil)
        let mark = socket.messages.count
        server.send(SIGHUP)
        #expect(socket.wait(after: mark) { $0.contains("RELOADING=1") } != nil)
        #expect(socket.wait(after: mark) { $0.contains("READY=1") } != nil)
        #expect(server.stop()?.status == 0)
        #expect(socket.messages.contains { $0.contains("STOPPING=1") })
    }
}
