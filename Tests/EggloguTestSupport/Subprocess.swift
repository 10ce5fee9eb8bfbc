import Foundation

/// Runs the project's own executables the way a user would.
public enum Subprocess {
    public struct Output: Sendable {
        public let status: Int32
        public let stdout: String
        public let stderr: String
        /// Whether the process ended by a signal rather than by exiting.
        public let signaled: Bool

        public init(status: Int32, stdout: String, stderr: String, signaled: Bool) {
            self.status = status
            self.stdout = stdout
            self.stderr = stderr
            self.signaled = signaled
        }
    }

    /// The directory holding the built products (next to the test bundle).
    public static var productsDirectory: URL {
        if let explicit = ProcessInfo.processInfo.environment["EGGLOGU_PRODUCTS_DIR"] {
            return URL(fileURLWithPath: explicit)
        }
        var url = Bundle.main.bundleURL
        while url.path != "/" {
            if FileManager.default.isExecutableFile(atPath: url.appendingPathComponent("egglogu-agent").path) {
                return url
            }
            url.deleteLastPathComponent()
        }
        return Bundle.main.bundleURL.deletingLastPathComponent()
    }

    /// The path of a built executable product (an absolute path names any program).
    public static func executable(_ name: String) -> String {
        name.hasPrefix("/") ? name : productsDirectory.appendingPathComponent(name).path
    }

    /// Starts `name` with `arguments`; output goes to files, so nothing blocks on a full pipe.
    public static func start(
        _ name: String,
        _ arguments: [String],
        stdin: String? = nil,
        environment: [String: String] = [:],
        in directory: TemporaryDirectory
    ) throws -> (process: ChildProcess, stdoutPath: String, finish: () -> Output) {
        try start(path: executable(name), arguments, stdin: stdin, environment: environment, in: directory)
    }

    /// Runs a program that is not this project's (a system tool, a script) to completion.
    public static func runTool(_ path: String, _ arguments: [String], environment: [String: String] = [:]) throws -> Output {
        let directory = TemporaryDirectory()
        return try start(path: path, arguments, stdin: nil, environment: environment, in: directory).finish()
    }

    private static func start(
        path: String,
        _ arguments: [String],
        stdin: String?,
        environment: [String: String],
        in directory: TemporaryDirectory
    ) throws -> (process: ChildProcess, stdoutPath: String, finish: () -> Output) {
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("EGGLOGU_") }
        // Never the installed /etc config of a machine that has the packages.
        env["EGGLOGU_CONFIG"] = ""
        env["EGGLOGU_SYNC_CONFIG"] = ""
        env.merge(environment) { _, b in b }
        let tag = UUID().uuidString
        let out = directory.file("\(tag).out")
        let err = directory.file("\(tag).err")
        let input = stdin.map { text in
            let file = directory.file("\(tag).in")
            FileManager.default.createFile(atPath: file, contents: Data(text.utf8))
            return file
        }
        let process = try ChildProcess(path, arguments, environment: env, stdin: input, stdout: out, stderr: err)
        return (
            process, out,
            {
                let (status, signaled) = process.waitForExit()
                let read = { (path: String) in (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }
                return Output(status: status, stdout: read(out), stderr: read(err), signaled: signaled)
            }
        )
    }

    /// Runs `name` to completion.
    public static func run(
        _ name: String,
        _ arguments: [String],
        stdin: String? = nil,
        environment: [String: String] = [:],
        in directory: TemporaryDirectory
    ) throws -> Output {
        try start(name, arguments, stdin: stdin, environment: environment, in: directory).finish()
    }
}
