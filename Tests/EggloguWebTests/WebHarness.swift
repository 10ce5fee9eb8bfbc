import AsyncHTTPClient
import EggloguAgentService
import EggloguCore
import EggloguJSON
import EggloguStore
import EggloguTestSupport
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import Synchronization

@testable import EggloguAgentWeb

/// Device `b`'s replica behind a real local web listener on port 0, with device `a` and a
/// server replica to sync with: a delete-vs-edit conflict is one call away.
final class WebHarness: Sendable {
    let lab = ReplicaLab()
    let a: Replica
    let b: Replica
    let server: Replica
    let monitor = AgentMonitor()
    private let changes = Counter()

    init() async throws {
        a = try await lab.open("a")
        b = try await lab.open("b")
        server = try await lab.open("server", role: .server)
    }

    /// How often the page asked for a push.
    var localChanges: Int { changes.value }

    func sync() async throws {
        try await DirectSync.settle([a, b], through: server)
    }

    /// `flocks/f1` deleted on `a` while `b` edited it: the deletion wins, b's edit is archived.
    /// - Returns: the conflict's id.
    @discardableResult
    func deleteVsEdit(name: String = "Barn 1 (edited)") async throws -> String {
        try await a.put("flocks", ["id": "f1", "name": "Barn 1", "birds": 120])
        try await sync()
        lab.clock.advance(milliseconds: 10)
        try await a.delete("flocks", id: "f1")
        lab.clock.advance(milliseconds: 10)
        try await b.put("flocks", ["id": "f1", "name": .string(name), "birds": 118])
        try await sync()
        let conflicts = try await b.conflicts()
        guard conflicts.count == 1, conflicts[0].kind == .deleteVsEdit else {
            throw HarnessError("expected one delete-vs-edit conflict, found \(conflicts.map(\.kind))")
        }
        return conflicts[0].id
    }

    /// Runs `body` with the page listening on a free port of `host`; stops it afterwards.
    func withWeb(
        host: String = "127.0.0.1",
        password: String? = nil,
        hostNames: [String] = [],
        logs: CapturedLogs? = nil,
        throttle: LoginThrottle = LoginThrottle(),
        _ body: (WebClient) async throws -> Void
    ) async throws {
        var configuration = LocalWebConfiguration()
        configuration.host = host
        configuration.port = 0
        configuration.password = password
        configuration.hostNames = hostNames
        let web = LocalWeb(
            replica: b,
            monitor: monitor,
            configuration: configuration,
            onLocalChange: { [changes] in changes.increment() },
            throttle: throttle
        )
        let (urls, continuation) = AsyncStream.makeStream(of: String?.self)
        var logger = logs.map { logs in Logger(label: "web-test") { _ in logs } } ?? Logger(label: "web-test")
        logger.logLevel = .warning
        let service = LocalWebService(web: web, logger: logger, onListening: { continuation.yield($0) })
        let group = ServiceGroup(services: [service], gracefulShutdownSignals: [], logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var iterator = urls.makeAsyncIterator()
            guard let listening = await iterator.next(), let url = listening else {
                throw HarnessError("the page did not start listening")
            }
            let port = URLComponents(string: url)?.port ?? 0
            var failure: (any Error)?
            do {
                try await body(WebClient(base: "http://127.0.0.1:\(port)"))
            } catch {
                failure = error
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            if let failure { throw failure }
        }
    }
}

/// Every log line, rendered with its metadata, for tests that read what was logged.
struct CapturedLogs: LogHandler {
    private final class Lines: Sendable {
        let lines = Mutex<[String]>([])
    }

    private let storage = Lines()
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    var lines: [String] { storage.lines.withLock { $0 } }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let all = metadata.merging(event.metadata ?? [:]) { $1 }
        let rendered = all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        storage.lines.withLock { $0.append("\(event.level) \(event.message) \(rendered)") }
    }
}

final class Counter: Sendable {
    private let count = Mutex(0)
    var value: Int { count.withLock { $0 } }
    func increment() { count.withLock { $0 += 1 } }
}

/// A value filled in by a closure that runs later.
final class Box<T: Sendable>: @unchecked Sendable {
    var value: T?
}

struct HarnessError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A tiny HTTP client for the page's API.
struct WebClient: Sendable {
    struct Answer {
        let status: Int
        let headers: HTTPHeaders
        let body: String

        var json: JSONObject? { (try? JSONParser().parse(Array(body.utf8)))?.objectValue }
        var isJSON: Bool { headers.first(name: "content-type")?.hasPrefix("application/json") == true }
        /// The `error` code of a JSON error body.
        var error: String? { json?["error"]?.stringValue }
    }

    let base: String

    func get(_ path: String, headers: [(String, String)] = []) async throws -> Answer {
        try await send(.GET, path, headers: headers)
    }

    func post(_ path: String, body: String, csrf: String?, headers: [(String, String)] = []) async throws -> Answer {
        var all = headers + [("Content-Type", "application/json")]
        if let csrf { all.append(("X-CSRF-Token", csrf)) }
        return try await send(.POST, path, headers: all, body: body)
    }

    /// The CSRF token from `/api/session`.
    func csrf(headers: [(String, String)] = []) async throws -> String {
        guard let token = try await get("/api/session", headers: headers).json?["csrfToken"]?.stringValue else {
            throw HarnessError("no CSRF token")
        }
        return token
    }

    func send(_ method: HTTPMethod, _ path: String, headers: [(String, String)] = [], body: String? = nil) async throws -> Answer {
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let bytes = try await response.body.collect(upTo: 4 << 20)
        return Answer(status: Int(response.status.code), headers: response.headers, body: String(buffer: bytes))
    }
}
