import EggloguTestSupport
import EggloguTestTraits
import Foundation
import Testing

/// The server's config file: checked by name, refused at start, reloaded on SIGHUP.
@Suite(.ownThreads) struct ServerStartupTests {
    @Test func configCheckAndStartReportEveryBadKeyByName() throws {
        let directory = TemporaryDirectory()
        let secret = directory.file("jwt-secret")
        try String(repeating: "s", count: 48).write(toFile: secret, atomically: true, encoding: .utf8)
        chmod(secret, 0o644)
        let bad = directory.file("server.conf")
        try """
            EGGLOGU_SYNC_DATA_DIR=data
            EGGLOGU_SYNC_JWT_SECRET_FILE=jwt-secret
            EGGLOGU_SYNC_PORT=http
            EGGLOGU_SYNC_TLS_CERT=missing.pem
            EGGLOGU_SYNC_LOG_LEVEL=chatty
            EGGLOGU_SYNC_MQTT_HOST=127.0.0.1
            EGGLOGU_SYNC_MQTT_PORT=0
            """.write(toFile: bad, atomically: true, encoding: .utf8)
        let checked = try Subprocess.run("egglogu-sync-server", ["config", "check", bad], in: directory)
        #expect(checked.status == 78)
        for key in ["EGGLOGU_SYNC_JWT_SECRET_FILE", "EGGLOGU_SYNC_PORT", "EGGLOGU_SYNC_TLS_CERT", "EGGLOGU_SYNC_TLS_KEY", "EGGLOGU_SYNC_LOG_LEVEL", "EGGLOGU_SYNC_MQTT_PORT"] {
            #expect(checked.stdout.contains(key), "\(key) missing from:\n\(checked.stdout)")
        }
        let serve = try Subprocess.run("egglogu-sync-server", ["serve", "--config", bad], in: directory)
        #expect(serve.status == 78)
        #expect(serve.stderr.contains("chmod 600"), "\(serve.stderr)")
        #expect(!serve.stderr.contains(String(repeating: "s", count: 48)), "never the secret")
        let missing = try Subprocess.run("egglogu-sync-server", ["serve", "--config", directory.file("absent.conf")], in: directory)
        #expect(missing.status == 78)
        #expect(missing.stderr.contains("absent.conf"))
    }

    /// A broker the server cannot use is logged; the server still serves sync.
    @Test func anUnusableBrokerLeavesTheServerServingWithoutNotices() throws {
        let directory = TemporaryDirectory()
        let server = ChildService(
            "egglogu-sync-server",
            ["serve", "--data-dir", directory.file("data"), "--port", "0", "--mqtt-host", "127.0.0.1", "--mqtt-port", "1", "--mqtt-ca-file", directory.file("no-ca.pem")],
            in: directory)
        try server.start(waitingFor: "listening on")
        #expect(server.stderr.contains("serving without notices"), "\(server.stderr)")
        #expect(server.stderr.contains("EGGLOGU_SYNC_MQTT_CA_FILE"))
        #expect(server.stop()?.status == 0)
    }
}
