import Foundation

/// Jumps the wall clock of the processes started with ``environment`` (an agent), minutes forward
/// or back, while they run: `Tests/Shims/clock-shift.c`, built here with the toolchain's clang and
/// loaded with `LD_PRELOAD`, adds the offset in a file to every reading of `CLOCK_REALTIME`.
public final class ClockShift: Sendable {
    private let file: String
    private let library: String

    /// Builds the shim into `directory`, with no shift yet.
    public init(in directory: TemporaryDirectory, name: String = "clock-shift") throws {
        file = directory.file(name + ".ms")
        library = directory.file("lib\(name).so")
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Shims/clock-shift.c").path
        guard let compiler = Self.compiler() else { throw ClockShiftError("no C compiler: clang from the Swift toolchain, or cc") }
        let built = try Subprocess.runTool(compiler, ["-shared", "-fPIC", "-O2", "-o", library, source, "-ldl"])
        guard built.status == 0 else { throw ClockShiftError("the clock shim does not build: \(built.stderr)") }
        try set(milliseconds: 0)
    }

    /// What a process needs in its environment to follow this shift.
    public var environment: [String: String] { ["LD_PRELOAD": library, "CLOCK_SHIFT_FILE": file] }

    /// Moves the shifted processes' wall clock to `milliseconds` off the machine's (within 20 ms).
    public func set(milliseconds: Int64) throws {
        let temporary = file + ".new"
        try "\(milliseconds)\n".write(toFile: temporary, atomically: false, encoding: .utf8)
        guard rename(temporary, file) == 0 else { throw ClockShiftError("cannot move \(temporary) into place") }
    }

    private static func compiler() -> String? {
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init)
        let candidates = path.map { $0 + "/clang" } + ["/opt/swift/usr/bin/clang"] + path.map { $0 + "/cc" }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}

public struct ClockShiftError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
