import Foundation

/// A fresh directory that is removed when the value is released.
///
/// It lives on /dev/shm when that exists: the tests' SQLite files keep their
/// real fsync behaviour but run at memory speed.
public final class TemporaryDirectory: Sendable {
    public let path: String

    public init() {
        let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        path = base + "/egglogu-test-" + UUID().uuidString.prefix(12).lowercased()
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    /// A path inside the directory.
    public func file(_ name: String) -> String {
        path + "/" + name
    }

    /// Writes a secret (a token, a password) as the programs require it: mode 0600.
    @discardableResult
    public func writeSecret(_ text: String, to name: String) throws -> String {
        let target = file(name)
        try text.write(toFile: target, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: target)
        return target
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }
}
