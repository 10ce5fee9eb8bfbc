import EggloguTestSupport
import EggloguTestTraits
import Foundation
import Testing

/// The units in deploy/, checked by systemd's own parser.
@Suite(.ownThreads) struct SystemdUnitTests {
    static let units = ["egglogu-agent.service", "egglogu-sync-server.service"]

    /// `systemd-analyze verify` exits 0 even on unknown keys, so any line it prints about one of
    /// our units fails. ExecStart must name an existing binary: the built one stands in.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-analyze")))
    func systemdAnalyzeVerifyPrintsNothingAboutOurUnits() throws {
        let directory = TemporaryDirectory()
        for unit in Self.units {
            var text = try String(contentsOfFile: DeployFixture.path("deploy/" + unit), encoding: .utf8)
            for program in ["egglogu-agent", "egglogu-sync-server"] {
                text = text.replacingOccurrences(of: "/usr/bin/\(program) ", with: Subprocess.executable(program) + " ")
            }
            try text.write(toFile: directory.file(unit), atomically: true, encoding: .utf8)
        }
        let verify = try Subprocess.runTool(
            "/usr/bin/systemd-analyze",
            ["verify"] + Self.units.map(directory.file),
            environment: ["SYSTEMD_LOG_LEVEL": "info"]
        )
        let lines = (verify.stdout + verify.stderr).split(separator: "\n")
        let ours = lines.filter { line in Self.units.contains { line.contains($0) } || line.contains(directory.path) }
        #expect(ours.isEmpty, "\(ours.joined(separator: "\n"))")
        #expect(verify.status == 0, "\(verify.stderr)")
    }

    /// The hardening and lifecycle settings the issue asks for are in both units.
    @Test(arguments: units) func theUnitIsANotifyServiceWithTheHardeningInPlace(unit: String) throws {
        let text = try String(contentsOfFile: DeployFixture.path("deploy/" + unit), encoding: .utf8)
        let lines = Set(text.split(separator: "\n").map { String($0).trimmingCharacters(in: .whitespaces) })
        let required = [
            "Type=notify", "Restart=on-failure", "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes", "NoNewPrivileges=yes",
            "CapabilityBoundingSet=", "SystemCallFilter=@system-service", "ExecReload=/bin/kill -HUP $MAINPID",
        ]
        let prefixes = [
            "After=network-online.target time-sync.target", "User=", "StateDirectory=", "LoadCredential=", "RestrictAddressFamilies=", "MemoryMax=",
            "WatchdogSec=",
        ]
        let missing = required.filter { !lines.contains($0) } + prefixes.filter { prefix in !lines.contains { $0.hasPrefix(prefix) } }
        #expect(missing.isEmpty, "\(unit) lacks \(missing)")
    }
}

/// The units under a real systemd: deploy/test-systemd.sh boots systemd 252 as PID 1 in a
/// systemd-nspawn container, installs the .debs there and checks notify readiness, the hardening,
/// reload, the watchdog and a clean stop (root only; the container root is cached in
/// /var/cache/egglogu-sync-test after a first debootstrap of about a minute).
@Suite(.ownThreads) struct SystemdBootTests {
    static let canRun =
        geteuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-nspawn")
        && FileManager.default.isExecutableFile(atPath: "/usr/sbin/debootstrap")

    @Test(
        .enabled(if: canRun, "needs root, systemd-nspawn and debootstrap (apt-get install --no-install-recommends systemd-container debootstrap)"),
        .timeLimit(.minutes(10))
    )
    func theUnitsWorkUnderARealSystemd() async throws {
        // The script runs the container itself at the normal priority: its watchdog check is timed.
        try await DeployFixture.expectAllChecksPass("test-systemd.sh")
    }
}
