import EggloguTestSupport
import EggloguTestTraits
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// What the agent says at start, and on SIGHUP, about its configuration.
@Suite(.ownThreads) struct AgentStartupTests {
    /// A sync server on SQLite with a token for one device, and the agent's config file.
    final class Setup: @unchecked Sendable {
        let directory = TemporaryDirectory()
        let port = Broker.freePort()
        var server: ChildService?
        var url: String { "http://127.0.0.1:\(port)" }
        var config: String { directory.file("agent.conf") }

        init(startServer: Bool = true) throws {
            let token = try Subprocess.run(
                "egglogu-sync-server",
                ["token", "--data-dir", directory.file("server"), "--farm", "farm-s", "--device", "gw-s"],
                in: directory
            )
            try directory.writeSecret(token.stdout, to: "token")
            if startServer { try start() }
        }

        func start() throws {
            let server = ChildService("egglogu-sync-server", ["serve", "--data-dir", directory.file("server"), "--port", "\(port)"], in: directory)
            try server.start(waitingFor: "listening on")
            self.server = server
        }

        func writeConfig(_ extra: [String] = [], serverURL: String? = nil) throws {
            let lines =
                [
                    "EGGLOGU_REPLICA=replica.sqlite", "EGGLOGU_DEVICE_ID=gw-s", "EGGLOGU_FARM_ID=farm-s", "EGGLOGU_SERVER_URL=\(serverURL ?? url)",
                    "EGGLOGU_TOKEN_FILE=token", "EGGLOGU_POLL_INTERVAL=0.3",
                ] + extra
            try (lines.joined(separator: "\n") + "\n").write(toFile: config, atomically: true, encoding: .utf8)
        }

        func agent() -> ChildService { ChildService("egglogu-agent", ["run", "--config", config], in: directory) }

        /// Whether a fresh replica synced from the server holds `id`.
        func serverHas(_ id: String) throws -> Bool {
            let other = directory.file("check-\(UUID().uuidString.prefix(6)).sqlite")
            try directory.writeSecret(try String(contentsOfFile: directory.file("token"), encoding: .utf8), to: "check-token")
            let synced = try Subprocess.run(
                "egglogu-agent",
                [
                    "sync", "--replica", other, "--farm-id", "farm-s", "--device-id", "gw-s", "--server-url", url, "--token-file",
                    directory.file("check-token"),
                ],
                in: directory
            )
            guard synced.status == 0 else { return false }
            return try Subprocess.run("egglogu-agent", ["get", "--replica", other, "flocks", id], in: directory).status == 0
        }

        func eventually(_ seconds: Double = 15, _ condition: () throws -> Bool) rethrows -> Bool {
            let deadline = Date().addingTimeInterval(seconds)
            while Date() < deadline {
                if try condition() { return true }
                usleep(100_000)
            }
            return try condition()
        }
    }

    @Test func aMissingConfigFileIsNamedAtStart() throws {
        let setup = try Setup(startServer: false)
        let run = try Subprocess.run("egglogu-agent", ["run", "--config", setup.directory.file("nope.conf")], in: setup.directory)
        #expect(run.status == 78)
        #expect(run.stderr.contains("nope.conf"), "\(run.stderr)")
        #expect(run.stderr.contains("error"), "a level on every line: \(run.stderr)")
    }

    /// Under systemd (stderr is the journal stream) each line carries its syslog level and no
    /// timestamp of its own: journald adds one.
    @Test func underJournaldLinesCarryALevelAndNoTimestamp() throws {
        let setup = try Setup(startServer: false)
        let log = setup.directory.file("journal.log")
        FileManager.default.createFile(atPath: log, contents: nil)
        var info = stat()
        stat(log, &info)
        let run = try Subprocess.runTool(
            "/bin/sh",
            ["-c", #"exec "$0" run --config "$1" 2>>"$2""#, Subprocess.executable("egglogu-agent"), setup.directory.file("nope.conf"), log],
            environment: ["JOURNAL_STREAM": "\(info.st_dev):\(info.st_ino)", "EGGLOGU_CONFIG": ""]
        )
        #expect(run.status == 78)
        let lines = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n")
        #expect(!lines.isEmpty)
        for line in lines {
            #expect(line.hasPrefix("<3>"), "\(line)")
            #expect(!line.contains("\(Calendar.current.component(.year, from: Date()))-"), "\(line)")
        }
    }

    @Test func aTokenFileOpenToOthersIsRefusedAtStart() throws {
        let setup = try Setup(startServer: false)
        try setup.writeConfig()
        chmod(setup.directory.file("token"), 0o644)
        let run = try Subprocess.run("egglogu-agent", ["run", "--config", setup.config], in: setup.directory)
        #expect(run.status == 78)
        #expect(run.stderr.contains("EGGLOGU_TOKEN_FILE"), "\(run.stderr)")
        #expect(run.stderr.contains("chmod 600"))
        #expect(
            !run.stderr.contains(
                try String(contentsOfFile: setup.directory.file("token"), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            )
        )
    }

    @Test func configCheckReportsEveryBadOrMissingKeyByName() throws {
        let setup = try Setup(startServer: false)
        try setup.writeConfig()
        let good = try Subprocess.run("egglogu-agent", ["config", "check", setup.config], in: setup.directory)
        #expect(good.status == 0, "\(good.stdout)\(good.stderr)")
        #expect(good.stdout.hasPrefix("ok: "))
        let bad = setup.directory.file("bad.conf")
        try """
        EGGLOGU_REPLICA=/nonexistent-dir/replica.sqlite
        EGGLOGU_FARM_ID=farm with spaces
        EGGLOGU_SERVER_URL=ftp://example.org
        EGGLOGU_MQTT_HOST=127.0.0.1
        EGGLOGU_MQTT_PORT=70000
        EGGLOGU_POLL_INTERVAL=soon
        EGGLOGU_LOG_LEVEL=loud
        EGGLOGU_TYPO=1
        this line has no equals sign
        """.write(toFile: bad, atomically: true, encoding: .utf8)
        let checked = try Subprocess.run("egglogu-agent", ["config", "check", bad], in: setup.directory)
        #expect(checked.status == 78)
        for key in [
            "EGGLOGU_REPLICA", "EGGLOGU_FARM_ID", "EGGLOGU_SERVER_URL", "EGGLOGU_TOKEN_FILE", "EGGLOGU_MQTT_PORT", "EGGLOGU_POLL_INTERVAL",
            "EGGLOGU_LOG_LEVEL", "EGGLOGU_TYPO", "bad.conf:9",
        ] {
            #expect(checked.stdout.contains(key), "\(key) missing from:\n\(checked.stdout)")
        }
        let json = try Subprocess.run("egglogu-agent", ["config", "check", bad, "--json"], in: setup.directory)
        #expect(json.stdout.contains(#""EGGLOGU_MQTT_PORT""#), "\(json.stdout)")
        // The environment overrides the file, and check says so unless --file-only.
        let overridden = try Subprocess.run(
            "egglogu-agent",
            ["config", "check", setup.config],
            environment: ["EGGLOGU_POLL_INTERVAL": "never"],
            in: setup.directory
        )
        #expect(overridden.status == 78)
        #expect(overridden.stdout.contains("environment: EGGLOGU_POLL_INTERVAL"), "\(overridden.stdout)")
        let fileOnly = try Subprocess.run(
            "egglogu-agent",
            ["config", "check", setup.config, "--file-only"],
            environment: ["EGGLOGU_POLL_INTERVAL": "never"],
            in: setup.directory
        )
        #expect(fileOnly.status == 0)
    }

    /// An unreachable broker host and a broker certificate from another CA are each named in the
    /// log at start, and neither stops HTTP sync: the agent polls.
    @Test(arguments: ["unreachable", "mismatched"]) func brokerProblemsAreNamedAndTheAgentPolls(problem: String) throws {
        let setup = try Setup()
        let certificates = TemporaryDirectory()
        try Certificates.make(in: certificates)
        let tlsBroker = try Broker(tls: (certificates.file("ca.pem"), certificates.file("server.pem"), certificates.file("server.key")))
        try tlsBroker.start()
        let other = TemporaryDirectory()
        try Certificates.make(in: other)
        let broker =
            problem == "unreachable"
            ? ["EGGLOGU_MQTT_HOST=no-such-broker.invalid", "EGGLOGU_MQTT_PORT=8883"]
            : ["EGGLOGU_MQTT_HOST=127.0.0.1", "EGGLOGU_MQTT_PORT=\(tlsBroker.port)", "EGGLOGU_MQTT_TLS_CA_FILE=\(other.file("ca.pem"))"]
        try setup.writeConfig(broker)
        let agent = setup.agent()
        try agent.start()
        defer { agent.stop() }
        let expected = problem == "unreachable" ? "no-such-broker.invalid" : "certificate verify failed"
        #expect(setup.eventually { agent.stderr.contains(expected) }, "\(agent.stderr)")
        #expect(
            try Subprocess.run("egglogu-agent", ["put", "--config", setup.config, "flocks", #"{"id":"while-broker-down"}"#], in: setup.directory)
                .status == 0
        )
        #expect(try setup.eventually { try setup.serverHas("while-broker-down") }, "\(agent.stderr)")
    }

    /// SIGHUP re-reads the file without losing what is queued: changes made while the server was
    /// unreachable go out once the reloaded config names the right one. A bad file is refused.
    @Test func sighupReloadsTheConfigAndKeepsQueuedChanges() throws {
        let setup = try Setup(startServer: false)
        try setup.writeConfig(serverURL: "http://127.0.0.1:9")
        let agent = setup.agent()
        try agent.start()
        defer { agent.stop() }
        for id in ["q1", "q2", "q3"] {
            let put = try Subprocess.run("egglogu-agent", ["put", "--config", setup.config, "flocks", #"{"id":"\#(id)"}"#], in: setup.directory)
            #expect(put.status == 0, "\(put.stderr)")
        }
        try setup.start()
        try setup.writeConfig(["EGGLOGU_POLL_INTERVAL=soon"])
        agent.send(SIGHUP)
        #expect(setup.eventually(5) { agent.stderr.contains("reload refused") }, "\(agent.stderr)")
        #expect(agent.isRunning)
        #expect(try !setup.serverHas("q1"))
        try setup.writeConfig()
        agent.send(SIGHUP)
        #expect(setup.eventually { agent.stderr.contains("configuration reloaded") }, "\(agent.stderr)")
        #expect(try setup.eventually { try setup.serverHas("q1") && setup.serverHas("q2") && setup.serverHas("q3") }, "\(agent.stderr)")
        #expect(agent.stop()?.status == 0)
    }
}
