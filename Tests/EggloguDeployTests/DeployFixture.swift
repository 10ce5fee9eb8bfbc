import EggloguTestSupport
import EggloguTestTraits
import Foundation
import Testing

/// The repository's deployment files, and tokens for tests that never reach a server.
enum DeployFixture {
    /// The repository root (this file is Tests/EggloguDeployTests/DeployFixture.swift).
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    static func path(_ relative: String) -> String { repository + "/" + relative }

    /// A well-formed token for `device` on `farm` that only a server could tell is not signed.
    static func unsignedToken(device: String, farm: String, expires: Date = Date().addingTimeInterval(86_400)) -> String {
        let claims =
            #"{"sub":"\#(device)","farms":["\#(farm)"],"iat":\#(Int(Date().timeIntervalSince1970) - 10),"exp":\#(Int(expires.timeIntervalSince1970))}"#
        let encode = { (text: String) in
            Data(text.utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
                .replacingOccurrences(of: "=", with: "")
        }
        return encode(#"{"alg":"HS256","typ":"JWT"}"#) + "." + encode(claims) + "." + encode("not-a-signature")
    }

    /// Runs a script of the repository to completion.
    static func script(_ relative: String, _ arguments: [String], environment: [String: String] = [:]) throws -> Subprocess.Output {
        try Subprocess.runTool(path(relative), arguments, environment: environment)
    }

    /// Runs one of deploy's check scripts (`test-deb.sh`, `test-systemd.sh`) on the binaries under
    /// test and expects it to pass every check. It runs at the lowest priority and off the cooperative
    /// pool: it builds and compresses packages for a minute or more, then waits, which would
    /// otherwise starve the suites beside it.
    static func expectAllChecksPass(_ script: String) async throws {
        let run = try await offPool {
            try Subprocess.runTool("/usr/bin/nice", ["-n", "19", path("deploy/" + script), "--from", Subprocess.productsDirectory.path])
        }
        #expect(run.status == 0, "\(run.stdout.suffix(3000))\n\(run.stderr.suffix(3000))")
        #expect(run.stdout.contains("\(script): all checks passed") || run.stderr.contains("\(script): all checks passed"))
        #expect(!run.stdout.contains("FAIL"))
    }
}
