import EggloguTestSupport
import Foundation

/// The repository's deployment files, and tokens for tests that never reach a server.
enum DeployFixture {
    /// The repository root (this file is Tests/EggloguDeployTests/DeployFixture.swift).
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    static func path(_ relative: String) -> String { repository + "/" + relative }

    /// A well-formed token for `device` on `farm` that only a server could tell is not signed.
    static func unsignedToken(device: String, farm: String, expires: Date = Date().addingTimeInterval(86_400)) -> String {
        let claims = #"{"sub":"\#(device)","farms":["\#(farm)"],"iat":\#(Int(Date().timeIntervalSince1970) - 10),"exp":\#(Int(expires.timeIntervalSince1970))}"#
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
}
