import Foundation

/// Running an administrative command as root on files a service account owns.
public enum ServiceAccount {
    /// When running as root and `directory` belongs to another user, becomes that user (and its
    /// group), so files the command creates there (SQLite's `-wal` and `-shm`, say) stay the
    /// service's. Secrets must be read before calling this.
    ///
    /// - Returns: the user id switched to, or nil when nothing changed.
    @discardableResult
    public static func adoptOwner(of directory: String) throws -> uid_t? {
        guard geteuid() == 0 else { return nil }
        var info = stat()
        guard stat(directory, &info) == 0, info.st_uid != 0 else { return nil }
        guard setgroups(0, nil) == 0, setgid(info.st_gid) == 0, setuid(info.st_uid) == 0 else {
            throw ServiceAccountError("cannot switch to the owner of \(directory) (uid \(info.st_uid)): \(String(cString: strerror(errno)))")
        }
        return info.st_uid
    }
}

/// A failed switch of user.
public struct ServiceAccountError: Error, CustomStringConvertible {
    public let description: String

    init(_ description: String) {
        self.description = description
    }
}
