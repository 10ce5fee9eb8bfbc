import EggloguTestSupport
import EggloguTestTraits
import Foundation
import Testing

/// The .deb packages, installed, upgraded, removed and purged with dpkg on this machine by
/// deploy/test-deb.sh (root only: it creates system users and writes /etc and /var/lib).
@Suite(.ownThreads) struct DebPackageTests {
    static let canRun = geteuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/dpkg-deb")
        && FileManager.default.isExecutableFile(atPath: "/usr/bin/dpkg-shlibdeps")

    @Test(.enabled(if: canRun, "needs root and dpkg-dev"), .timeLimit(.minutes(10)))
    func thePackagesInstallUpgradeAndRemoveCleanly() async throws {
        // At the lowest priority and off the cooperative pool: for two minutes it compresses large binaries
        // and waits, which would otherwise starve the suites running beside it.
        let run = try await offPool {
            try Subprocess.runTool(
                "/usr/bin/nice", ["-n", "19", DeployFixture.path("deploy/test-deb.sh"), "--from", Subprocess.productsDirectory.path])
        }
        #expect(run.status == 0, "\(run.stdout.suffix(3000))\n\(run.stderr.suffix(3000))")
        #expect(run.stdout.contains("test-deb.sh: all checks passed") || run.stderr.contains("test-deb.sh: all checks passed"))
        #expect(!run.stdout.contains("FAIL"))
    }
}
