import EggloguJSON
import Foundation
import Synchronization

/// The agent's bearer token, and where to put a renewed one: the place it was read from, or a
/// separate renewal file when that place is read-only (a systemd credential).
public final class TokenStore: Sendable {
    /// Where the token came from.
    public enum Origin: Sendable, Equatable {
        /// A file holding only the token (`EGGLOGU_TOKEN_FILE`): rewritten, mode 0600.
        case file(String)
        /// An `EGGLOGU_TOKEN=` line of the agent's config file: that line is rewritten.
        case configFile(String)
        /// The environment or a flag: a renewed token lives in memory only.
        case ephemeral
    }

    public let origin: Origin
    /// Where renewed tokens are written instead of the origin.
    public let renewalFile: String?
    private let token: Mutex<String>

    /// - Parameter renewalFile: when it holds a token of the same subject issued later than
    ///   `token` and not expired, that one is used; renewed tokens are written there.
    public init(token: String, origin: Origin, renewalFile: String? = nil) {
        var current = token.trimmingCharacters(in: .whitespacesAndNewlines)
        if let renewalFile, let data = FileManager.default.contents(atPath: renewalFile) {
            let renewed = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            if let a = UnverifiedClaims(current), let b = UnverifiedClaims(renewed), a.subject == b.subject,
                b.issuedAt > a.issuedAt, b.expiresAt > Date()
            {
                current = renewed
            }
        }
        self.token = Mutex(current)
        self.origin = origin
        self.renewalFile = renewalFile
    }

    /// Reads a token file.
    public convenience init(file: String, renewalFile: String? = nil) throws {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw TokenStoreError("cannot read the token file \(file)")
        }
        self.init(token: String(decoding: data, as: UTF8.self), origin: .file(file), renewalFile: renewalFile)
    }

    public var current: String { token.withLock { $0 } }

    /// Takes a renewed token and stores it where the old one was read. The new token is in use
    /// even when storing it fails (the error says why).
    ///
    /// - Returns: whether the token was persisted (false for an ephemeral origin).
    @discardableResult
    public func replace(with fresh: String) throws -> Bool {
        token.withLock { $0 = fresh }
        if let renewalFile {
            try Self.writeAtomically(Data((fresh + "\n").utf8), to: renewalFile)
            return true
        }
        switch origin {
        case .ephemeral:
            return false
        case .file(let path):
            try Self.writeAtomically(Data((fresh + "\n").utf8), to: path)
            return true
        case .configFile(let path):
            guard let text = FileManager.default.contents(atPath: path).map({ String(decoding: $0, as: UTF8.self) }) else {
                throw TokenStoreError("cannot read the config file \(path)")
            }
            var replaced = false
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
                let trimmed = line.trimmingCharacters(in: .whitespaces)
                let bare = trimmed.hasPrefix("export ") ? String(trimmed.dropFirst(7)).trimmingCharacters(in: .whitespaces) : trimmed
                guard !replaced, bare.hasPrefix("EGGLOGU_TOKEN=") else { return String(line) }
                replaced = true
                return "EGGLOGU_TOKEN=" + fresh
            }
            guard replaced else { throw TokenStoreError("\(path) has no EGGLOGU_TOKEN line to update") }
            try Self.writeAtomically(Data(lines.joined(separator: "\n").utf8), to: path)
            return true
        }
    }

    /// Writes through a temporary file and a rename, keeping the file private (0600).
    private static func writeAtomically(_ data: Data, to path: String) throws {
        let temporary = path + ".tmp-\(getpid())"
        guard FileManager.default.createFile(atPath: temporary, contents: data, attributes: [.posixPermissions: 0o600]) else {
            throw TokenStoreError("cannot write \(temporary)")
        }
        guard rename(temporary, path) == 0 else {
            unlink(temporary)
            throw TokenStoreError("cannot replace \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// When the current token was issued and expires, read without verifying (the server verifies).
    public var lifetime: (issuedAt: Date, expiresAt: Date)? {
        UnverifiedClaims(current).map { ($0.issuedAt, $0.expiresAt) }
    }

    /// Whether two thirds of the token's lifetime have passed.
    public func isDueForRenewal(now: Date = Date()) -> Bool {
        guard let lifetime else { return false }
        let renewAt = lifetime.issuedAt.addingTimeInterval(lifetime.expiresAt.timeIntervalSince(lifetime.issuedAt) * 2 / 3)
        return now >= renewAt
    }
}

/// A token that cannot be read or stored.
public struct TokenStoreError: Error, CustomStringConvertible {
    public let description: String

    init(_ description: String) {
        self.description = description
    }
}
