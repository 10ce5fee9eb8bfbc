import Foundation

/// File checks with messages that say what to do.
public enum FileCheck {
    /// Nil when `path` is a regular file this process can read, else why not.
    public static func readable(_ path: String) -> String? {
        var info = stat()
        guard stat(path, &info) == 0 else { return "cannot read \(path): \(String(cString: strerror(errno)))" }
        guard info.st_mode & S_IFMT == S_IFREG else { return "\(path) is not a regular file" }
        guard access(path, R_OK) == 0 else { return "cannot read \(path): \(String(cString: strerror(errno)))" }
        return nil
    }

    /// Nil when neither group nor others can read or write `path`, else how to fix it.
    public static func `private`(_ path: String) -> String? {
        var info = stat()
        guard stat(path, &info) == 0 else { return "cannot read \(path): \(String(cString: strerror(errno)))" }
        let mode = info.st_mode & 0o777
        guard mode & 0o066 == 0 else {
            return "\(path) holds a secret but is open to group or others (mode \(String(mode, radix: 8))): run chmod 600 \(path)"
        }
        return nil
    }

    /// Nil when `path` can be created or replaced (atomically, or with SQLite's side files): its
    /// directory is writable. Else why not.
    public static func writable(_ path: String) -> String? {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        var info = stat()
        guard stat(directory, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else {
            return "the directory \(directory) does not exist"
        }
        guard access(directory, W_OK | X_OK) == 0 else {
            return "cannot write in \(directory): \(String(cString: strerror(errno)))"
        }
        return nil
    }
}
