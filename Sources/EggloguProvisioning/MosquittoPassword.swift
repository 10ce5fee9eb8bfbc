import Crypto
import CryptoExtras
import Foundation

/// Broker passwords and the mosquitto 2.0 password-file lines that check them.
public enum MosquittoPassword {
    /// What `mosquitto_passwd` uses; the broker reads the count from each line.
    public static let defaultIterations = 101

    /// A random password of 32 letters and digits (about 190 bits): safe to put in a config
    /// file or a bridge's `remote_password` line without quoting.
    public static func generate() -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        var generator = SystemRandomNumberGenerator()
        return String((0..<32).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] })
    }

    /// `username:$7$iterations$base64(salt)$base64(PBKDF2-HMAC-SHA512)`, the line
    /// `mosquitto_passwd -b` writes: a 12-byte salt and a 64-byte hash.
    ///
    /// The iteration count is mosquitto's own (every CONNECT pays for it); the generated
    /// passwords are random, so their strength does not rest on it.
    public static func line(username: String, password: String, iterations: Int = defaultIterations, salt: [UInt8]? = nil) throws -> String {
        guard !username.isEmpty, !username.contains(":"), !username.unicodeScalars.contains(where: { $0.value < 32 || $0.value == 127 }) else {
            throw ProvisioningError("a broker username is non-empty, without ':' or control characters")
        }
        let salt = salt ?? (0..<12).map { _ in UInt8.random(in: 0...255) }
        let key = try KDF.Insecure.PBKDF2.deriveKey(
            from: Array(password.utf8),
            salt: salt,
            using: .sha512,
            outputByteCount: 64,
            unsafeUncheckedRounds: iterations
        )
        let hash = key.withUnsafeBytes { Data($0).base64EncodedString() }
        return "\(username):$7$\(iterations)$\(Data(salt).base64EncodedString())$\(hash)"
    }
}

/// A provisioning step that cannot be done.
public struct ProvisioningError: Error, CustomStringConvertible {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}
