import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A real file system of a few megabytes (a tmpfs mounted on a fresh directory) that a test can
/// fill to the last byte or remount read-only. Mounting needs root; ``isAvailable`` says whether
/// it works here.
public final class SmallDisk: Sendable {
    public let path: String
    private let size: String

    /// Whether this process may mount a tmpfs (root, or CAP_SYS_ADMIN).
    public static let isAvailable: Bool = {
        guard geteuid() == 0, let disk = try? SmallDisk(megabytes: 1) else { return false }
        return FileManager.default.isWritableFile(atPath: disk.path)
    }()

    public init(megabytes: Int) throws {
        path = NSTemporaryDirectory() + "/egglogu-disk-" + UUID().uuidString.prefix(12).lowercased()
        size = "size=\(megabytes)m"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        guard mount("tmpfs", path, "tmpfs", 0, size) == 0 else {
            let reason = String(cString: strerror(errno))
            rmdir(path)
            throw SmallDiskError(message: "cannot mount a tmpfs on \(path): \(reason)")
        }
    }

    /// A path on the disk.
    public func file(_ name: String) -> String {
        path + "/" + name
    }

    /// Writes a filler file until the disk has no byte left.
    public func fill() throws {
        let fd = open(file(".filler"), O_WRONLY | O_CREAT | O_APPEND, 0o600)
        guard fd >= 0 else { throw SmallDiskError(message: "cannot create the filler: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let block = [UInt8](repeating: 0x55, count: 4096)
        while block.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) > 0 {}
        var stats = statvfs()
        guard statvfs(path, &stats) == 0, stats.f_bavail == 0 else {
            throw SmallDiskError(message: "the disk still has room after filling it")
        }
    }

    /// Removes the filler: the disk has room again.
    public func release() {
        unlink(file(".filler"))
    }

    /// Makes the disk read-only for every file opened from now on (a read-only bind mount over it;
    /// files already open stay writable, as the kernel allows), or read-write again.
    public func setReadOnly(_ readOnly: Bool) throws {
        if readOnly {
            guard mount(path, path, nil, UInt(MS_BIND), nil) == 0,
                mount(path, path, nil, UInt(MS_REMOUNT) | UInt(MS_BIND) | UInt(MS_RDONLY), nil) == 0
            else { throw SmallDiskError(message: "cannot make \(path) read-only: \(String(cString: strerror(errno)))") }
        } else {
            guard umount2(path, Int32(MNT_DETACH)) == 0 else {
                throw SmallDiskError(message: "cannot make \(path) writable: \(String(cString: strerror(errno)))")
            }
        }
    }

    deinit {
        while umount2(path, Int32(MNT_DETACH)) == 0 {}
        rmdir(path)
    }
}

/// A small disk could not be set up.
public struct SmallDiskError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
