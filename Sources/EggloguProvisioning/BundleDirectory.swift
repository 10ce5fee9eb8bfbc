import Foundation

/// An empty, private directory that files are written into with an exact mode.
struct BundleDirectory {
    let path: String
    private(set) var written: [String] = []

    init(_ path: String) throws {
        let manager = FileManager.default
        if manager.fileExists(atPath: path) {
            guard (try? manager.contentsOfDirectory(atPath: path))?.isEmpty == true else {
                throw ProvisioningError("\(path) exists and is not an empty directory: refusing to overwrite a bundle")
            }
        }
        do {
            try manager.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            try manager.setAttributes([.posixPermissions: 0o700], ofItemAtPath: path)
        } catch {
            throw ProvisioningError("cannot create \(path): \(error.localizedDescription)")
        }
        self.path = path
    }

    /// Creates the file with `mode` before writing, so a secret is never readable by others.
    mutating func write(_ relative: String, _ text: String, mode: mode_t) throws {
        let target = path + "/" + relative
        let parent = URL(fileURLWithPath: target).deletingLastPathComponent().path
        try? FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let fd = open(target, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw ProvisioningError("cannot create \(target): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        fchmod(fd, mode)
        let bytes = Array(text.utf8)
        let count = bytes.withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) }
        guard count == bytes.count, fsync(fd) == 0 else { throw ProvisioningError("cannot write \(target): \(String(cString: strerror(errno)))") }
        written.append(relative)
    }

    mutating func copy(_ source: String, to relative: String) throws {
        guard let data = FileManager.default.contents(atPath: source) else { throw ProvisioningError("cannot read \(source)") }
        try write(relative, String(decoding: data, as: UTF8.self), mode: 0o644)
    }
}
