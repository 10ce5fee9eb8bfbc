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
        for key in [
            "EGGLOGU_SYNC_JWT_SECRET_FILE", "EGGLOGU_SYNC_PORT", "EGGLOGU_SYNC_TLS_CERT", "EGGLOGU_SYNC_TLS_KEY", "EGGLOGU_SYNC_LOG_LEVEL",
            "EGGLOGU_SYNC_MQTT_PORT",
        ] {
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

    /// The EGGlogU backend's secret: its published default is refused, a short one is a warning
    /// (`config check` reports warnings too), and neither is ever printed.
    @Test func theAppsTokenSecretIsCheckedWithoutBeingPrinted() throws {
        let directory = TemporaryDirectory()
        let config = directory.file("server.conf")
        try "EGGLOGU_SYNC_DATA_DIR=data\nEGGLOGU_SYNC_APP_JWT_SECRET_FILE=app-secret\n".write(toFile: config, atomically: true, encoding: .utf8)
        for (secret, status, words) in [
            ("change-me-in-production", Int32(78), "published default"), ("short-but-mine", 78, "HS256 should have at least 32"),
            (String(repeating: "k", count: 40), 0, ""),
        ] {
            _ = try directory.writeSecret(secret + "\n", to: "app-secret")
            let checked = try Subprocess.run("egglogu-sync-server", ["config", "check", config], in: directory)
            #expect(checked.status == status, "\(secret): \(checked.stdout) \(checked.stderr)")
            #expect(words.isEmpty ? !checked.stdout.contains("EGGLOGU_SYNC_APP") : checked.stdout.contains(words), "\(checked.stdout)")
            #expect(!(checked.stdout + checked.stderr).contains(secret))
        }
        chmod(directory.file("app-secret"), 0o644)
        let loose = try Subprocess.run("egglogu-sync-server", ["config", "check", config], in: directory)
        #expect(loose.status == 78 && loose.stdout.contains("chmod 600"), "\(loose.stdout)")
    }

    /// A broker the server cannot use is logged; the server still serves sync.
    @Test func anUnusableBrokerLeavesTheServerServingWithoutNotices() throws {
        let directory = TemporaryDirectory()
        let server = ChildService(
            "egglogu-sync-server",
            [
                "serve", "--data-dir", directory.file("data"), "--port", "0", "--mqtt-host", "127.0.0.1", "--mqtt-port", "1", "--mqtt-ca-file",
                directory.file("no-ca.pem"),
            ],
            in: directory
        )
        try server.start(waitingFor: "listening on")
        #expect(server.stderr.contains("serving without notices"), "\(server.stderr)")
        #expect(server.stderr.contains("EGGLOGU_SYNC_MQTT_CA_FILE"))
        #expect(server.stop()?.status == 0)
    }
}
