#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes a command's output bytes as they are, without copying them into `Data` first (an
/// export is several megabytes).
public enum OutputFile {
    /// Replaces `path` with `bytes`: written to a temporary file beside it, flushed to disk, then
    /// renamed over it, so a reader or a power cut never sees half a file.
    ///
    /// - Throws: a message naming the path and the system's reason.
    public static func replace(_ path: String, with bytes: [UInt8]) throws(OutputFileError) {
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { String(path[...$0]) } ?? ""
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        let temporary = directory + "." + name + ".\(getpid()).tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
        guard fd >= 0 else { throw OutputFileError(path: path, errno: errno) }
        var failure: Int32?
        if !writeAll(fd, bytes) {
            failure = errno
        } else if fsync(fd) != 0 {
            failure = errno
        }
        if close(fd) != 0, failure == nil { failure = errno }
        if failure == nil, rename(temporary, path) != 0 { failure = errno }
        if let failure {
            unlink(temporary)
            throw OutputFileError(path: path, errno: failure)
        }
    }

    /// Writes `bytes` to standard output, then a newline.
    public static func writeStandardOutput(_ bytes: [UInt8]) throws(OutputFileError) {
        guard writeAll(STDOUT_FILENO, bytes), writeAll(STDOUT_FILENO, [UInt8(ascii: "\n")]) else {
            throw OutputFileError(path: "standard output", errno: errno)
        }
    }

    private static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                offset += written
            }
            return true
        }
    }
}

/// Why ``OutputFile`` could not write.
public struct OutputFileError: Error, CustomStringConvertible {
    public let path: String
    public let reason: String

    init(path: String, errno code: Int32) {
        self.path = path
        self.reason = String(cString: strerror(code))
    }

    public var description: String { "cannot write \(path): \(reason)" }
}
