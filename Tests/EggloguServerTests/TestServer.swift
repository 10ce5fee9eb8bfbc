import AsyncHTTPClient
import EggloguAgentSync
import EggloguJSON
import EggloguPostgres
import EggloguServer
import EggloguStore
import EggloguSyncClient
import EggloguTestSupport
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle

/// A real sync server on a free loopback port, for the length of one test.
struct TestServer: Sendable {
    let port: Int
    let directory: DataDirectory
    let authority: TokenAuthority
    var url: String { "http://127.0.0.1:\(port)" }

    static let secret = Array("test-secret-of-at-least-32-bytes-long!".utf8)

    /// Runs `body` against a server on `dataDirectory` (a new one when nil), then shuts it down gracefully.
    ///
    /// - Parameter database: a `postgres://` URL: the farms and devices live there instead.
    static func with<T: Sendable>(
        dataDirectory: String? = nil,
        database: String? = nil,
        configure: (inout SyncServerConfiguration) -> Void = { _ in },
        _ body: @Sendable (TestServer) async throws -> T
    ) async throws -> T {
        let scratch = TemporaryDirectory()
        let directory = try DataDirectory(dataDirectory ?? scratch.file("data"), create: true)
        var configuration = SyncServerConfiguration(dataDirectory: directory)
        configuration.port = 0
        configure(&configuration)
        let authority = try await TokenAuthority(secret: secret)
        var logger = Logger(label: "test-server")
        logger.logLevel = .error
        var storage: PostgresStorage?
        if let database {
            storage = try await PostgresStorage.open(
                url: try PostgresURL(database),
                logger: logger,
                timeout: .seconds(3),
                connectTimeout: .seconds(60)
            )
        }
        let server = try await SyncServer(configuration: configuration, authority: authority, storage: storage)
        let services: [any Service] = storage.map { [$0] } ?? []
        let result = try await running(logger: logger, services: services, { try server.application(logger: logger, onServerRunning: $0) }) { port in
            try await body(TestServer(port: port, directory: directory, authority: authority))
        }
        withExtendedLifetime(scratch) {}
        return result
    }

    func token(device: String, farms: [String] = ["farm-1"], lifetime: TimeInterval = 3_600, issuedAt: Date = Date()) async throws -> String {
        try await authority.mint(subject: device, farms: farms, lifetime: lifetime, now: issuedAt).token
    }

    /// A raw request; returns the status and the parsed body (nil if it is not JSON).
    func request(
        _ method: NIOHTTP1.HTTPMethod,
        _ path: String,
        token: String? = nil,
        body: [UInt8]? = nil
    ) async throws -> (status: Int, json: JSONValue?) {
        var request = HTTPClientRequest(url: url + path)
        request.method = method
        if let token { request.headers.add(name: "Authorization", value: "Bearer " + token) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let buffer = try await response.body.collect(upTo: 64 << 20)
        return (Int(response.status.code), try? JSONParser().parse(Array(buffer.readableBytesView)))
    }
}

/// Runs an HTTP application on a free port for the length of `body`, then shuts it down gracefully.
///
/// - Parameter make: builds the application, given the callback that learns its port.
func running<T: Sendable, App: ApplicationProtocol>(
    logger: Logger,
    services: [any Service] = [],
    _ make: (@escaping @Sendable (Int) async -> Void) throws -> App,
    _ body: @Sendable (Int) async throws -> T
) async throws -> T {
    let (ports, continuation) = AsyncStream<Int>.makeStream()
    let application = try make { continuation.yield($0) }
    // The stores first: a group stops its services last to first, so they outlive the last request.
    let group = ServiceGroup(configuration: .init(services: services + [application], logger: logger))
    return try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        let port = await iterator.next()!
        do {
            let result = try await body(port)
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            return result
        } catch {
            await group.triggerGracefulShutdown()
            try? await tasks.waitForAll()
            throw error
        }
    }
}

/// An agent: a replica and a sync engine talking to a test server.
struct TestAgent: Sendable {
    let replica: Replica
    let sync: AgentSync
    let client: SyncClient

    /// - Parameter url: where the agent reaches the server (default: straight at it).
    static func make(
        _ name: String,
        in lab: ReplicaLab,
        server: TestServer,
        farm: String = "farm-1",
        pageSize: Int = 500,
        url: String? = nil
    ) async throws -> TestAgent {
        var configuration = ReplicaConfiguration()
        configuration.deviceID = name
        configuration.farmID = farm
        let replica = try await Replica.open(path: lab.directory.file(name + ".sqlite"), configuration: configuration)
        let client = try SyncClient(configuration: .init(serverURL: url ?? server.url))
        let token = TokenStore(token: try await server.token(device: name, farms: [farm]), origin: .ephemeral)
        return TestAgent(
            replica: replica,
            sync: AgentSync(replica: replica, farm: farm, transport: client, token: token, pageSize: pageSize),
            client: client
        )
    }

    @discardableResult
    func sync() async throws -> SyncSummary {
        try await sync.sync()
    }

    func close() async {
        await client.shutdown()
    }
}

/// Plain-text GETs (for /metrics).
struct HTTPClientRequestBuilder {
    let url: String

    static func get(_ url: String) -> HTTPClientRequestBuilder { HTTPClientRequestBuilder(url: url) }

    mutating func text() async throws -> String {
        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: url), timeout: .seconds(30))
        let buffer = try await response.body.collect(upTo: 16 << 20)
        return String(buffer: buffer)
    }
}
