import EggloguProvisioning
import EggloguTestSupport
import EggloguTestTraits
import Foundation
import Testing

/// `egglogu-sync-server provision` and the broker files it writes.
@Suite(.ownThreads) struct ProvisioningTests {
    func mode(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path)[.posixPermissions]) as? Int) ?? -1
    }

    @Test func theBundleHoldsATokenBrokerCredentialsAndAConfigTheAgentAccepts() throws {
        let directory = TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: directory.file("state"), withIntermediateDirectories: true)
        try "ca".write(toFile: directory.file("ca.pem"), atomically: true, encoding: .utf8)
        let certificates = TemporaryDirectory()
        try Certificates.make(in: certificates)
        let out = directory.file("bundle")
        let provisioned = try Subprocess.run(
            "egglogu-sync-server",
            [
                "provision", "--data-dir", directory.file("server"), "--farm", "farm-p", "--device", "gw-p", "--out", out, "--server-url",
                "https://sync.example.org",
                "--mqtt-host", "broker.example.org", "--mqtt-ca-file", certificates.file("ca.pem"), "--state-dir", directory.file("state"),
            ],
            in: directory
        )
        #expect(provisioned.status == 0, "\(provisioned.stderr)")
        #expect(mode(out) == 0o700)
        #expect(mode(out + "/agent/token") == 0o600)
        #expect(mode(out + "/agent/mqtt-password") == 0o600)
        #expect(mode(out + "/central-broker/passwd") == 0o600)
        #expect(mode(out + "/agent/agent.conf") == 0o644)
        let config = try String(contentsOfFile: out + "/agent/agent.conf", encoding: .utf8)
        let password = try String(contentsOfFile: out + "/agent/mqtt-password", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let token = try String(contentsOfFile: out + "/agent/token", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(!config.contains(password) && !config.contains(token), "no secret in the config file")
        #expect(config.contains("EGGLOGU_MQTT_USERNAME=gw-p@farm-p"))
        #expect(config.contains("EGGLOGU_MQTT_PORT=8883"))
        let acl = try String(contentsOfFile: out + "/central-broker/acl", encoding: .utf8)
        #expect(acl.contains("user gw-p@farm-p\ntopic read egglogu/farm-p/changes\ntopic readwrite egglogu/farm-p/sync\n"))
        #expect(try String(contentsOfFile: out + "/central-broker/passwd", encoding: .utf8).hasPrefix("gw-p@farm-p:$7$101$"))
        #expect(!provisioned.stdout.contains(password) && !provisioned.stdout.contains(token) && !provisioned.stderr.contains(token))

        let checked = try Subprocess.run("egglogu-agent", ["config", "check", out + "/agent/agent.conf"], in: directory)
        #expect(checked.status == 0, "\(checked.stdout)")
        #expect(checked.stdout.contains("token for gw-p on farm-p"))
        let devices = try Subprocess.run(
            "egglogu-sync-server",
            ["devices", "--data-dir", directory.file("server"), "--farm", "farm-p"],
            in: directory
        )
        #expect(devices.stdout.contains("gw-p"))
    }

    /// Run as root on a data directory the service account owns, provisioning reads the root-only
    /// secret, writes the bundle as root, and creates the server's files as the service.
    @Test(.enabled(if: geteuid() == 0)) func asRootTheServicesFilesStayTheServices() throws {
        let directory = TemporaryDirectory()
        let data = directory.file("data")
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        chown(data, 65534, 65534)
        chmod(data, 0o700)
        let secret = try directory.writeSecret(String(repeating: "k", count: 48), to: "jwt-secret")
        let provisioned = try Subprocess.run(
            "egglogu-sync-server",
            [
                "provision", "--data-dir", data, "--jwt-secret-file", secret, "--farm", "f", "--device", "d", "--out", directory.file("bundle"),
                "--server-url", "http://h:1",
            ],
            in: directory
        )
        #expect(provisioned.status == 0, "\(provisioned.stderr)")
        func owner(_ path: String) -> Int { ((try? FileManager.default.attributesOfItem(atPath: path)[.ownerAccountID]) as? Int) ?? -1 }
        #expect(owner(data + "/server.sqlite") == 65534)
        #expect(owner(data + "/farms") == 65534)
        #expect(owner(directory.file("bundle/agent/token")) == 0)
    }

    @Test func badRequestsAreRefusedWithoutWritingAnything() throws {
        let directory = TemporaryDirectory()
        let base = ["provision", "--data-dir", directory.file("server"), "--server-url", "http://127.0.0.1:8080"]
        let badID = try Subprocess.run(
            "egglogu-sync-server",
            base + ["--farm", "farm/../x", "--device", "d", "--out", directory.file("a")],
            in: directory
        )
        #expect(badID.status == 64)
        let reserved = try Subprocess.run(
            "egglogu-sync-server",
            base + ["--farm", "f", "--device", "bridge", "--out", directory.file("b")],
            in: directory
        )
        #expect(reserved.status == 73)
        #expect(reserved.stderr.contains("reserved"))
        let noCA = try Subprocess.run(
            "egglogu-sync-server",
            base + ["--farm", "f", "--device", "d", "--out", directory.file("c"), "--mqtt-host", "h", "--gateway-broker"],
            in: directory
        )
        #expect(noCA.status == 73)
        #expect(noCA.stderr.contains("TLS"))
        try FileManager.default.createDirectory(atPath: directory.file("full"), withIntermediateDirectories: true)
        try "keep me".write(toFile: directory.file("full/token"), atomically: true, encoding: .utf8)
        let occupied = try Subprocess.run(
            "egglogu-sync-server",
            base + ["--farm", "f", "--device", "d", "--out", directory.file("full")],
            in: directory
        )
        #expect(occupied.status == 73)
        #expect(try String(contentsOfFile: directory.file("full/token"), encoding: .utf8) == "keep me")
        let noURL = try Subprocess.run(
            "egglogu-sync-server",
            ["provision", "--data-dir", directory.file("server"), "--farm", "f", "--device", "d", "--out", directory.file("e")],
            in: directory
        )
        #expect(noURL.status == 64)
        #expect(noURL.stderr.contains("--server-url"))
    }

    @Test func provisioningAgainReplacesTheUsersLineAndBlock() throws {
        let acl =
            "# head\nuser egglogu-sync-server\ntopic write egglogu/+/sync\n\nuser a@f\ntopic readwrite egglogu/f/sync\n\nuser b@f\ntopic readwrite egglogu/f/sync\n"
        let replaced = BrokerACL.replacingBlock(of: "a@f", in: acl, with: BrokerACL.deviceBlock(device: "a", farm: "f"))
        #expect(replaced.components(separatedBy: "user a@f\n").count == 2)
        #expect(replaced.contains("user b@f\ntopic readwrite egglogu/f/sync"))
        #expect(replaced.contains("user egglogu-sync-server\ntopic write egglogu/+/sync"))
        #expect(replaced.hasSuffix(BrokerACL.deviceBlock(device: "a", farm: "f")))
        let passwd = "old-a@f:x\na@f:y\nb@f:z\n"
        #expect(BrokerACL.replacingLine(of: "a@f", in: passwd, with: "a@f:new") == "old-a@f:x\nb@f:z\na@f:new\n")
    }

    /// The line `mosquitto_passwd` would write for a fixed salt (checked against the real
    /// broker by BrokerTopologyTests).
    @Test func passwordLinesUseMosquittosPBKDF2Format() throws {
        let line = try MosquittoPassword.line(username: "u@f", password: "secret", salt: Array(repeating: 7, count: 12))
        // PBKDF2-HMAC-SHA512("secret", 12 × 0x07, 101 rounds, 64 bytes), computed with Python's hashlib.
        #expect(line == "u@f:$7$101$BwcHBwcHBwcHBwcH$6ZQ2yRzvC8IBaKHF1SkHNXEXdjUM/JI6hteW8lTabANPHYldnRXh9Hz30Wfv77tWFerkNupf/aEFu58qFdtQfQ==")
        #expect(throws: ProvisioningError.self) { try MosquittoPassword.line(username: "a:b", password: "x") }
        #expect(MosquittoPassword.generate() != MosquittoPassword.generate())
        #expect(MosquittoPassword.generate().count == 32)
    }
}
