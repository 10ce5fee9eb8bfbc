import EggloguTestSupport
import EggloguTestTraits
import Foundation
import Testing

/// The .deb packages, installed, upgraded, removed and purged with dpkg on this machine by
/// deploy/test-deb.sh (root only: it creates system users and writes /etc and /var/lib).
@Suite(.ownThreads) struct DebPackageTests {
    static let canRun =
        geteuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/dpkg-deb")
        && FileManager.default.isExecutableFile(atPath: "/usr/bin/dpkg-shlibdeps")

    @Test(.enabled(if: canRun, "needs root and dpkg-dev"), .timeLimit(.minutes(10)))
    func thePackagesInstallUpgradeAndRemoveCleanly() async throws {
        try await DeployFixture.expectAllChecksPass("test-deb.sh")
    }
}
