import Crypto
import EggloguHTTP
import EggloguJSON
import Foundation

/// How to trust the access tokens the EGGlogU backend gives the app's web client.
public struct AppTokenConfiguration: Sendable {
    /// The backend's HS256 secret (its `JWT_SECRET_KEY`).
    public var secret: [UInt8]
    /// The claim that names the farm (default `org`, the backend's organization id).
    public var farmClaim = "org"
    /// Clock difference tolerated between the backend and this server, in seconds.
    public var leewaySeconds: TimeInterval = 30

    public init(secret: [UInt8], farmClaim: String = "org") {
        self.secret = secret
        self.farmClaim = farmClaim
    }

    /// The backend's published default secret: tokens signed with it prove nothing.
    public static let publishedDefault = "change-me-in-production"

    /// Reads the backend's secret from `file`, surrounding white space removed.
    ///
    /// - Returns: the secret, and whether it is shorter than the 32 bytes HS256 should have.
    public static func readSecret(_ file: String) throws -> (secret: [UInt8], isShort: Bool) {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw ServerSetupError("cannot read the app's token secret \(file)")
        }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty else { throw ServerSetupError("\(file) is empty") }
        guard text != publishedDefault else {
            throw ServerSetupError("\(file) holds the EGGlogU backend's published default secret: anyone could sign tokens with it")
        }
        return (Array(text.utf8), text.utf8.count < 32)
    }
}

extension AppTokenConfiguration: CustomStringConvertible, CustomDebugStringConvertible {
    /// Never the secret, wherever the configuration is printed.
    public var description: String { "AppTokenConfiguration(farmClaim: \(farmClaim), secret: <redacted>)" }
    public var debugDescription: String { description }
}

/// What a valid access token of the EGGlogU backend says.
struct AppClaims: Sendable, Equatable {
    /// The user (`sub`).
    let user: String
    /// The farm, from the configured claim.
    let farm: String
    let expiresAt: Date
}

/// Verifies the EGGlogU backend's access tokens: HS256 JWTs with `sub`, `org`, `role`,
/// `type: "access"`, `exp` and `jti`.
///
/// The HMAC is checked here with swift-crypto rather than jwt-kit, because the backend's secret
/// is whatever its operator chose, and jwt-kit refuses HMAC keys shorter than 32 bytes.
struct AppTokenVerifier: Sendable {
    let configuration: AppTokenConfiguration

    /// The claims of a valid access token: 401 for anything malformed, tampered, expired or of
    /// another type, 403 when it names no usable farm.
    func verify(_ token: String, now: Date = Date()) throws(APIError) -> AppClaims {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let headerBytes = Self.base64URL(parts[0]), let payloadBytes = Self.base64URL(parts[1]),
            let signature = Self.base64URL(parts[2])
        else { throw .unauthorized("the token is not a JWT") }
        guard case .object(let header)? = try? JSONParser().parse(headerBytes), header["alg"] == "HS256" else {
            throw .unauthorized("the token is not signed with HS256")
        }
        let signed = Array(token.utf8.prefix(parts[0].utf8.count + 1 + parts[1].utf8.count))
        guard HMAC<SHA256>.isValidAuthenticationCode(signature, authenticating: signed, using: SymmetricKey(data: configuration.secret))
        else { throw .unauthorized("the token's signature is not valid") }
        guard case .object(let claims)? = try? JSONParser().parse(payloadBytes) else {
            throw .unauthorized("the token's claims are not a JSON object")
        }
        guard claims["type"] == "access" else { throw .unauthorized("the token is not an access token") }
        guard let exp = claims["exp"]?.numberValue?.doubleValue, exp.isFinite else {
            throw .unauthorized("the token has no expiry")
        }
        guard now.timeIntervalSince1970 < exp + configuration.leewaySeconds else { throw .unauthorized("the token has expired") }
        if let nbf = claims["nbf"]?.numberValue?.doubleValue, now.timeIntervalSince1970 + configuration.leewaySeconds < nbf {
            throw .unauthorized("the token is not valid yet")
        }
        guard case .string(let user)? = claims["sub"], !user.isEmpty else { throw .unauthorized("the token names no user") }
        guard case .string(let farm)? = claims[configuration.farmClaim], DataDirectory.isValidFarmID(farm) else {
            throw .forbidden("the token's \(configuration.farmClaim) claim names no farm this server can hold")
        }
        return AppClaims(user: user, farm: farm, expiresAt: Date(timeIntervalSince1970: exp))
    }

    /// Whether a token looks like the backend's rather than ours (no `farms` claim); unverified.
    static func looksLikeAppToken(_ token: String) -> Bool {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let payload = base64URL(parts[1]), case .object(let claims)? = try? JSONParser().parse(payload) else {
            return false
        }
        return claims["farms"] == nil
    }

    private static func base64URL(_ text: Substring) -> [UInt8]? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        return Data(base64Encoded: base64).map(Array.init)
    }
}
