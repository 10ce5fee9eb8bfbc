import EggloguJSON
import Foundation

/// The claims of a JWT that the agent reads without verifying (the server verifies): who it is
/// for and when it was issued and expires.
public struct UnverifiedClaims: Sendable, Equatable {
    public let subject: String
    public let farms: [String]
    public let issuedAt: Date
    public let expiresAt: Date

    /// Nil when `token` is not a JWT carrying `sub`, `iat` and `exp`.
    public init?(_ token: String) {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3 else { return nil }
        var base64 = parts[1].replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        guard let data = Data(base64Encoded: base64), case .object(let claims)? = try? JSONParser().parse([UInt8](data)),
            let subject = claims["sub"]?.stringValue,
            let iat = claims["iat"]?.numberValue?.doubleValue, let exp = claims["exp"]?.numberValue?.doubleValue
        else { return nil }
        self.subject = subject
        self.farms = claims["farms"]?.arrayValue?.compactMap(\.stringValue) ?? []
        self.issuedAt = Date(timeIntervalSince1970: iat)
        self.expiresAt = Date(timeIntervalSince1970: exp)
    }
}
