import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Debian's nginx on a free loopback port, running the project's site file
/// (`deploy/nginx/egglogu-sync.conf`) with its two upstreams pointed at the given ports.
public final class Nginx: @unchecked Sendable {
    public let port: Int
    private let directory = TemporaryDirectory()
    private var process: ChildProcess?

    /// The site as shipped, with the sync server and the backend on these loopback ports.
    public init(syncPort: Int, backendPort: Int) throws {
        port = Broker.freePort()
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        var site = try String(contentsOf: root.appendingPathComponent("deploy/nginx/egglogu-sync.conf"), encoding: .utf8)
        for (shipped, local) in [
            ("server 127.0.0.1:8080;", "server 127.0.0.1:\(syncPort);"), ("server 127.0.0.1:8000;", "server 127.0.0.1:\(backendPort);"),
            ("    listen 80;\n", "    listen 127.0.0.1:\(port);\n"), ("    listen [::]:80;\n", ""),
        ] {
            guard site.contains(shipped) else { throw NginxError("the site file no longer has \(shipped)") }
            site = site.replacingOccurrences(of: shipped, with: local)
        }
        let sitePath = directory.file("site.conf")
        try site.write(toFile: sitePath, atomically: true, encoding: .utf8)
        // One process as the current user (no master, no workers switching to nobody), every path in the scratch directory.
        let temp = directory.file("temp")
        try FileManager.default.createDirectory(atPath: temp, withIntermediateDirectories: true)
        let main = """
            daemon off;
            master_process off;
            worker_processes 1;
            pid \(directory.file("nginx.pid"));
            error_log \(directory.file("error.log")) warn;
            events { worker_connections 256; }
            http {
                access_log \(directory.file("access.log"));
                client_body_temp_path \(temp)/body;
                proxy_temp_path \(temp)/proxy;
                fastcgi_temp_path \(temp)/fastcgi;
                uwsgi_temp_path \(temp)/uwsgi;
                scgi_temp_path \(temp)/scgi;
                include \(sitePath);
            }
            """
        try main.write(toFile: directory.file("nginx.conf"), atomically: true, encoding: .utf8)
    }

    /// Starts nginx and waits until it accepts connections.
    public func start() throws {
        let process = try ChildProcess(
            "/usr/sbin/nginx",
            ["-c", directory.file("nginx.conf"), "-p", directory.path, "-e", directory.file("error.log")]
        )
        self.process = process
        guard Broker.waitUntilAccepting(port, while: process) else { throw NginxError("nginx did not start: \(errorLog)") }
    }

    /// What nginx logged.
    public var errorLog: String {
        (try? String(contentsOfFile: directory.file("error.log"), encoding: .utf8)) ?? ""
    }

    public var url: String { "http://127.0.0.1:\(port)" }

    /// Stops nginx with SIGKILL: it holds nothing to flush, and a child of the test process may
    /// inherit a signal mask that blocks SIGTERM and SIGQUIT.
    public func stop() {
        guard let process else { return }
        process.send(SIGKILL)
        process.waitForExit()
        self.process = nil
    }

    deinit {
        stop()
    }
}

public struct NginxError: Error, CustomStringConvertible {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}
