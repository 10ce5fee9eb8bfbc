import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Free space on the file system that holds a file.
public enum DiskSpace {
    /// Below this many free bytes a disk counts as full: SQLite cannot grow its log or shared memory.
    public static let fullBelow: Int64 = 256 * 1024

    /// Bytes an unprivileged process may still write where `path` (a file or a directory) lives,
    /// or nil when the file system cannot be asked.
    public static func available(near path: String) -> Int64? {
        var info = statvfs()
        for candidate in [path, (path as NSString).deletingLastPathComponent] where !candidate.isEmpty {
            if statvfs(candidate, &info) == 0 {
                return Int64(info.f_bavail) * Int64(info.f_frsize)
            }
        }
        return nil
    }

    /// The size of the file at `path`, or nil when it cannot be stat'ed. Unlike
    /// `FileManager.attributesOfItem`, it looks up no owner or group names.
    public static func fileSize(_ path: String) -> Int64? {
        var info = stat()
        return stat(path, &info) == 0 ? Int64(info.st_size) : nil
    }

    /// Whether the disk holding `path` is full (see ``fullBelow``).
    public static func isFull(near path: String) -> Bool {
        available(near: path).map { $0 < fullBelow } ?? false
    }

    /// A size for people: `812 KB`, `3.4 GB`.
    public static func describe(_ bytes: Int64) -> String {
        let units = ["bytes", "KB", "MB", "GB", "TB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1000, unit < units.count - 1 {
            value /= 1000
            unit += 1
        }
        return unit == 0 ? "\(bytes) bytes" : (value < 10 ? String(format: "%.1f", value) : "\(Int(value))") + " " + units[unit]
    }
}

extension ReplicaError {
    /// The disk holding `path` is full.
    static func diskFull(_ path: String) -> ReplicaError {
        let directory = (path as NSString).deletingLastPathComponent
        let free = DiskSpace.available(near: path).map { " (\(DiskSpace.describe($0)) free)" } ?? ""
        return ReplicaError(
            .diskFull,
            "the disk holding \(directory.isEmpty ? "." : directory) is full\(free): free some space and retry; nothing stored was lost"
        )
    }
}

extension DiskSpace {
    /// Writes and removes 4 KiB in `directory` (on a thread of its own); returns the error's text on failure.
    public static func writeProbe(in directory: String) async -> String? {
        do {
            return try await StoreThread.run { writeProbeFile(in: directory) }
        } catch {
            return "the probe did not run: \(error)"
        }
    }

    private static func writeProbeFile(in directory: String) -> String? {
        let path = directory + "/.healthz-probe"
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return String(cString: strerror(errno)) }
        defer {
            close(fd)
            unlink(path)
        }
        let block = [UInt8](repeating: 0, count: 4096)
        let written = block.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        if written != block.count { return written < 0 ? String(cString: strerror(errno)) : "short write" }
        return nil
    }
}
