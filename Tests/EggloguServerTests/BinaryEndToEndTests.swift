import EggloguJSON
import EggloguTestSupport
import EggloguTestTraits
import Foundation
import Testing

/// The two programs as operators run them: a server started from the command line, tokens minted by
/// its admin commands, and agents syncing through `egglogu-agent sync`.
@Suite(.ownThreads) struct BinaryEndToEndTests {
    let dir = TemporaryDirectory()

    func run(_ name: String, _ arguments: [String], environment: [String: String] = [:]) throws -> Subprocess.Output {
        try Subprocess.run(name, arguments, environment: environment, in: dir)
    }

    /// Starts `egglogu-sync-server serve` on a free port and returns its URL.
    func startServer(dataDir: String) throws -> (url: String, stop: () -> Subprocess.Output) {
        let server = try Subprocess.start(
            "egglogu-sync-server",
            ["serve", "--port", "0"],
            environment: ["EGGLOGU_SYNC_DATA_DIR": dataDir],
            in: dir
        )
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            let log = (try? String(contentsOfFile: server.stdoutPath, encoding: .utf8)) ?? ""
            if let line = log.split(separator: "\n").first(where: { $0.contains("listening on http://") }) {
                return (
                    String(line.split(separator: " ").last!),
                    {
                        server.process.terminate()
                        return server.finish()
                    }
                )
            }
            usleep(50_000)
        }
        server.process.terminate()
        Issue.record("the server did not start: \(server.finish().stderr)")
        throw CancellationError()
    }

    @Test func serverAndAgentsSyncFromTheCommandLine() throws {
        let data = dir.file("data")
        let (url, stop) = try startServer(dataDir: data)
        defer { _ = stop() }
        for device in ["gw-1", "gw-2"] {
            let token = try run("egglogu-sync-server", ["token", "--data-dir", data, "--farm", "farm-9", "--device", device, "--ttl", "30d"])
            #expect(token.status == 0)
            #expect(token.stdout.split(separator: ".").count == 3)
            try dir.writeSecret(token.stdout, to: "\(device).token")
        }
        func agent(_ device: String, _ arguments: [String]) throws -> Subprocess.Output {
            try run(
                "egglogu-agent",
                arguments + ["--replica", dir.file("\(device).sqlite")],
                environment: [
                    "EGGLOGU_DEVICE_ID": device, "EGGLOGU_FARM_ID": "farm-9", "EGGLOGU_SERVER_URL": url,
                    "EGGLOGU_TOKEN_FILE": dir.file("\(device).token"),
                ]
            )
        }
        #expect(try agent("gw-1", ["import", try SmallFarm.write(in: dir)]).status == 0)
        let first = try agent("gw-1", ["sync"])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.hasPrefix("synced: "))
        let second = try agent("gw-2", ["sync", "--json"])
        #expect(second.status == 0)
        let summary = try JSONParser().parse(second.stdout).objectValue!
        #expect((summary["pulled"]?.numberValue?.intValue ?? 0) > 60)
        #expect(try agent("gw-1", ["export"]).stdout == agent("gw-2", ["export"]).stdout)
        let status = try JSONParser().parse(try agent("gw-2", ["status", "--json"]).stdout).objectValue!
        #expect(status["sync"]?.objectValue?["cursor"]?.stringValue?.contains(":") == true)

        let devices = try run("egglogu-sync-server", ["devices", "--data-dir", data, "--farm", "farm-9"])
        #expect(devices.stdout.contains("gw-1"))
        #expect(!devices.stdout.contains("never"))

        #expect(try run("egglogu-sync-server", ["revoke", "--data-dir", data, "--device", "gw-2"]).status == 64, "the farm is required")
        #expect(try run("egglogu-sync-server", ["revoke", "--data-dir", data, "--farm", "farm-9", "--device", "gw-2"]).status == 0)
        #expect(try run("egglogu-sync-server", ["token", "--data-dir", data, "--farm", "farm-9", "--device", "server"]).status == 64)
        #expect(try agent("gw-2", ["put", "flocks", #"{"id":"queued-while-revoked"}"#]).status == 0)
        let refused = try agent("gw-2", ["sync"])
        #expect(refused.status == 77)
        #expect(refused.stderr.contains("revoked"))
        #expect(refused.stderr.contains("stay queued"))

        let backup = try run("egglogu-sync-server", ["backup", "--data-dir", data, dir.file("backup")])
        #expect(backup.status == 0)
        #expect(FileManager.default.fileExists(atPath: dir.file("backup/farms/farm-9.sqlite")))

        let stopped = stop()
        #expect(stopped.status == 0, "SIGTERM shuts the server down cleanly: \(stopped.stderr)")
    }

    @Test func syncFailuresExitWithSysexitsAndKeepChangesQueued() throws {
        let replica = dir.file("r.sqlite")
        // Well-formed, for a farm and device the replica matches; only the server can tell it is forged.
        try dir.writeSecret("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJkIiwiZmFybXMiOlsiZiJdLCJpYXQiOjEsImV4cCI6OTk5OTk5OTk5OX0.c2ln", to: "t")
        #expect(try run("egglogu-agent", ["put", "--replica", replica, "--farm-id", "f", "flocks", #"{"id":"a"}"#]).status == 0)
        let unreachable = try run(
            "egglogu-agent",
            ["sync", "--replica", replica, "--server-url", "http://127.0.0.1:9", "--token-file", dir.file("t")]
        )
        #expect(unreachable.status == 69)
        #expect(unreachable.stderr.contains("cannot reach http://127.0.0.1:9"))
        #expect(unreachable.stderr.contains("changes stay queued"))
        #expect(try run("egglogu-agent", ["sync", "--replica", replica, "--server-url", "http://127.0.0.1:9"]).status == 78)
        #expect(try run("egglogu-agent", ["sync", "--replica", replica, "--token-file", dir.file("t")]).status == 78)
        #expect(try run("egglogu-agent", ["sync", "--replica", replica, "--server-url", "ftp://x", "--token-file", dir.file("t")]).status == 78)
        try dir.writeSecret("not-a-token", to: "garbage")
        let garbage = try run(
            "egglogu-agent",
            ["sync", "--replica", replica, "--server-url", "http://127.0.0.1:9", "--token-file", dir.file("garbage")]
        )
        #expect(garbage.status == 78)
        #expect(garbage.stderr.contains("EGGLOGU_TOKEN_FILE: does not hold a token"))
        #expect(try run("egglogu-sync-server", ["token", "--jwt-secret-file", dir.file("garbage"), "--farm", "f", "--device", "d"]).status == 78)
        #expect(try run("egglogu-sync-server", ["token", "--farm", "f", "--device", "d"]).status == 78)
    }
}
