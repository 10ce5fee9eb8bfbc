import EggloguCLI
import EggloguStore
import Foundation

/// Reads a command's input file (or `-` for stdin) with a size limit.
enum InputFile {
    static func read(_ path: String, limit: Int) throws -> [UInt8] {
        if path == "-" {
            var bytes: [UInt8] = []
            let stdin = FileHandle.standardInput
            while true {
                let chunk = stdin.readData(ofLength: 1 << 20)
                if chunk.isEmpty { break }
                bytes.append(contentsOf: chunk)
                if bytes.count > limit { throw tooLarge("standard input", size: nil, limit: limit) }
            }
            return bytes
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
            throw CommandFailure(Sysexits.noInput, "cannot read \(path): no such file")
        }
        let size = Int(DiskSpace.fileSize(path) ?? 0)
        if size > limit { throw tooLarge(path, size: size, limit: limit) }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw CommandFailure(Sysexits.noInput, "cannot read \(path): permission denied")
        }
        defer { try? handle.close() }
        let data = (try? handle.readToEnd()) ?? Data()
        if data.count > limit { throw tooLarge(path, size: data.count, limit: limit) }
        return [UInt8](data)
    }

    private static func tooLarge(_ name: String, size: Int?, limit: Int) -> CommandFailure {
        let sizeText = size.map { String(format: " is %.1f MB,", Double($0) / 1_048_576) } ?? " is"
        return CommandFailure(
            Sysexits.dataError,
            "\(name)\(sizeText) larger than the import limit of \(limit >> 20) MB (raise it with --max-size)"
        )
    }
}
