import EggloguTestSupport
import EggloguTestTraits
import Foundation
import Testing

/// How the status page is switched on and secured through the agent's config.
@Suite(.ownThreads) struct StatusPageConfigTests {
    func check(_ setup: AgentStartupTests.Setup, _ lines: [String]) throws -> Subprocess.Output {
        try setup.writeConfig(lines)
        return try Subprocess.run("egglogu-agent", ["config", "check", setup.config], in: setup.directory)
    }

    @Test func listenAddressesAreReadOrNamedAsWrong() throws {
        let setup = try AgentStartupTests.Setup(startServer: false)
        for good in ["off", "on", "8787", "127.0.0.1:8787", "localhost", "[::1]:9000", "127.0.0.1:0"] {
            let output = try check(setup, ["EGGLOGU_HTTP_LISTEN=\(good)"])
            #expect(output.status == 0, "\(good): \(output.stdout)")
        }
        for bad in ["127.0.0.1:99999", "host:port", "a b:80", "[::1]x", "1.2.3.4:80:90"] {
            let output = try check(setup, ["EGGLOGU_HTTP_LISTEN=\(bad)"])
            #expect(output.status == 78 && output.stdout.contains("EGGLOGU_HTTP_LISTEN"), "\(bad): \(output.stdout)")
        }
    }

    @Test func beyondLoopbackWithoutAPasswordIsAWarningAndAPasswordFileMustBePrivate() throws {
        let setup = try AgentStartupTests.Setup(startServer: false)
        let open = try check(setup, ["EGGLOGU_HTTP_LISTEN=0.0.0.0:8787"])
        #expect(open.status == 78, "config check fails on warnings too")
        #expect(open.stdout.contains("every request gets 401"), "\(open.stdout)")

        try "a long enough password\n".write(toFile: setup.directory.file("page-password"), atomically: true, encoding: .utf8)
        chmod(setup.directory.file("page-password"), 0o644)
        let readable = try check(setup, ["EGGLOGU_HTTP_LISTEN=0.0.0.0:8787", "EGGLOGU_HTTP_PASSWORD_FILE=page-password"])
        #expect(readable.status == 78 && readable.stdout.contains("EGGLOGU_HTTP_PASSWORD_FILE"), "\(readable.stdout)")

        try setup.directory.writeSecret("short\n", to: "short-password")
        let short = try check(setup, ["EGGLOGU_HTTP_LISTEN=0.0.0.0:8787", "EGGLOGU_HTTP_PASSWORD_FILE=short-password"])
        #expect(short.status == 78 && short.stdout.contains("at least 8"), "\(short.stdout)")

        try setup.directory.writeSecret("a long enough password\n", to: "good-password")
        let good = try check(setup, ["EGGLOGU_HTTP_LISTEN=0.0.0.0:8787", "EGGLOGU_HTTP_PASSWORD_FILE=good-password"])
        #expect(good.status == 0 && !good.stdout.contains("401"), "\(good.stdout)")
        #expect(!good.stdout.contains("a long enough password"))
    }

    @Test func aTakenPortIsLoggedAndTheAgentKeepsSyncing() throws {
        let setup = try AgentStartupTests.Setup()
        defer { _ = setup.server?.stop() }
        try setup.writeConfig(["EGGLOGU_HTTP_LISTEN=127.0.0.1:\(setup.port)"])  // the server's own port
        let agent = setup.agent()
        try agent.start()
        defer { _ = agent.stop() }
        #expect(setup.eventually { agent.stderr.contains("status page cannot listen") }, "\(agent.stderr)")
        _ = try Subprocess.run("egglogu-agent", ["put", "--config", setup.config, "flocks", #"{"id":"p1"}"#], in: setup.directory)
        #expect(try setup.eventually { try setup.serverHas("p1") }, "the agent stopped syncing when its page could not listen")
        #expect(agent.isRunning)
    }
}
