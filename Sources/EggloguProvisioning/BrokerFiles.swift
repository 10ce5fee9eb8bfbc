import Foundation

/// A mosquitto `passwd` + `acl` pair (as in `/etc/mosquitto/egglogu/`), updated in place.
public struct BrokerFiles: Sendable {
    public let directory: String

    public init(directory: String) {
        self.directory = directory
    }

    /// Adds each user's password line and ACL block, replacing an earlier one of the same user.
    /// Each file is replaced atomically and keeps its owner and mode. The broker sees the change
    /// after a reload (SIGHUP).
    public func apply(_ users: [(username: String, passwdLine: String, aclBlock: String)]) throws {
        let passwdPath = directory + "/passwd"
        let aclPath = directory + "/acl"
        var passwd = try read(passwdPath)
        var acl = try read(aclPath)
        for user in users {
            passwd = BrokerACL.replacingLine(of: user.username, in: passwd, with: user.passwdLine)
            acl = BrokerACL.replacingBlock(of: user.username, in: acl, with: user.aclBlock)
        }
        try replace(passwdPath, with: passwd)
        try replace(aclPath, with: acl)
    }

    private func read(_ path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ProvisioningError("cannot read \(path): is it the broker's directory (passwd and acl, as in mosquitto/)?")
        }
        return String(decoding: data, as: UTF8.self)
    }

    private func replace(_ path: String, with text: String) throws {
        var info = stat()
        guard stat(path, &info) == 0 else { throw ProvisioningError("cannot stat \(path): \(String(cString: strerror(errno)))") }
        let temporary = path + ".provision"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw ProvisioningError("cannot write next to \(path): \(String(cString: strerror(errno)))") }
        let bytes = Array(text.utf8)
        let count = bytes.withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd) == 0
        if geteuid() == 0 { _ = fchown(fd, info.st_uid, info.st_gid) }
        _ = fchmod(fd, info.st_mode & 0o7777)
        close(fd)
        guard count == bytes.count, synced, rename(temporary, path) == 0 else {
            unlink(temporary)
            throw ProvisioningError("cannot replace \(path): \(String(cString: strerror(errno)))")
        }
    }
}
