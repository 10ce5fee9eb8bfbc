import Crypto
import EggloguJSON
import Foundation

/// Signs tokens as the EGGlogU backend does: HS256 JWTs with `sub`, `org`, `role`, `type`, `exp`, `jti`.
public enum AppTokens {
    /// Shorter than 32 bytes, as a backend's `JWT_SECRET_KEY` may well be.
    public static let secret = Array("backend-secret-22bytes".utf8)

    public static func access(user: String, org: String?, lifetime: TimeInterval = 1_800, type: String = "access") -> String {
        var claims: JSONObject = [
            "sub": .string(user), "org": org.map(JSONValue.string) ?? .null, "role": "owner", "type": .string(type),
            "exp": .number(JSONNumber(Int(Date().timeIntervalSince1970 + lifetime))), "jti": .string(UUID().uuidString),
        ]
        if type == "refresh" { claims["org"] = nil }
        return sign(.object(claims))
    }

    public static func sign(_ claims: JSONValue, secret: [UInt8] = AppTokens.secret, header: JSONValue = ["alg": "HS256", "typ": "JWT"]) -> String {
        let input = base64URL(header.serialized()) + "." + base64URL(claims.serialized())
        let mac = HMAC<SHA256>.authenticationCode(for: Array(input.utf8), using: SymmetricKey(data: secret))
        return input + "." + base64URL(Array(mac))
    }

    public static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
