import EggloguHTTP
import Foundation
import JWTKit

/// What a verified token says.
public struct TokenClaims: Sendable, Equatable {
    /// The device (or user) the token was issued to.
    public let subject: String
    /// The farms it may sync.
    public let farms: [String]
    public let issuedAt: Date
    public let expiresAt: Date
    public let id: String
}

struct SyncTokenPayload: JWTPayload {
    var sub: SubjectClaim
    var farms: [String]
    var exp: ExpirationClaim
    var iat: IssuedAtClaim
    var jti: IDClaim

    func verify(using algorithm: some JWTAlgorithm) async throws {
        try exp.verifyNotExpired()
    }
}

/// Signs and verifies the server's bearer tokens: HS256 with the server's secret, plus
/// optional ES256 and RS256 public keys of an external issuer.
public struct TokenAuthority: Sendable {
    private let keys: JWTKeyCollection

    /// - Parameters:
    ///   - secret: the HS256 secret, at least 32 bytes.
    ///   - publicKeyFiles: PEM public keys (EC P-256 for ES256, RSA for RS256); each is found by its file name as `kid`.
    public init(secret: [UInt8], publicKeyFiles: [String] = []) async throws {
        guard secret.count >= 32 else { throw ServerSetupError("an HS256 secret needs at least 32 bytes") }
        let keys = JWTKeyCollection()
        await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
        for file in publicKeyFiles {
            guard let pem = FileManager.default.contents(atPath: file).map({ String(decoding: $0, as: UTF8.self) }) else {
                throw ServerSetupError("cannot read the public key \(file)")
            }
            let kid = JWKIdentifier(string: URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent)
            if let ec = try? ES256PublicKey(pem: pem) {
                await keys.add(ecdsa: ec, kid: kid)
            } else if let rsa = try? Insecure.RSA.PublicKey(pem: pem) {
                await keys.add(rsa: rsa, digestAlgorithm: .sha256, kid: kid)
            } else {
                throw ServerSetupError("\(file) is neither an EC P-256 nor an RSA public key in PEM form")
            }
        }
        self.keys = keys
    }

    /// A new HS256 token for `subject` on `farms`, valid for `lifetime` seconds from `now`.
    public func mint(
        subject: String,
        farms: [String],
        lifetime: TimeInterval,
        now: Date = Date()
    ) async throws -> (token: String, claims: TokenClaims) {
        let id = UUID().uuidString.lowercased()
        let payload = SyncTokenPayload(
            sub: SubjectClaim(value: subject),
            farms: farms,
            exp: ExpirationClaim(value: now.addingTimeInterval(lifetime)),
            iat: IssuedAtClaim(value: now),
            jti: IDClaim(value: id)
        )
        let token = try await keys.sign(payload)
        return (token, TokenClaims(subject: subject, farms: farms, issuedAt: now, expiresAt: payload.exp.value, id: id))
    }

    /// The claims of a valid, unexpired token; any other token throws a 401 ``APIError``.
    public func verify(_ token: String) async throws(APIError) -> TokenClaims {
        do {
            let payload = try await keys.verify(token, as: SyncTokenPayload.self)
            return TokenClaims(
                subject: payload.sub.value,
                farms: payload.farms,
                issuedAt: payload.iat.value,
                expiresAt: payload.exp.value,
                id: payload.jti.value
            )
        } catch let error as JWTError where error.errorType == .claimVerificationFailure {
            throw .unauthorized("the token has expired")
        } catch {
            throw .unauthorized("the token is not valid")
        }
    }
}
