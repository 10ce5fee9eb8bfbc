import EggloguAgentSync
import EggloguCore
import EggloguPostgres
import EggloguProtocol
import EggloguServer
import EggloguStore
import Foundation
import Logging
import Synchronization

/// A real ``SyncServer`` (its stores in a temporary directory) and devices that sync with it in
/// this process, through ``InProcessTransport``: the same handlers, checks and answer bytes as
/// over HTTP, with real cursors, and no socket or wall-clock timing in the way.
public final class SyncLab: Sendable {
    public let directory = TemporaryDirectory()
    public let server: SyncServer
    public let authority: TokenAuthority
    /// Every notice the server published, in order.
    public let notices = NoticeLog()
    public let farm: String
    /// The shared database the server keeps its farms in, when not SQLite.
    public let storage: (any FarmStorage)?
    private let pool: Task<Void, Never>?

    public static let secret = Array("test-secret-of-at-least-32-bytes-long!".utf8)

    /// - Parameter backend: where the server keeps its farms (a new PostgreSQL database for this lab).
    public init(
        farm: String = "farm-1",
        backend: StoreBackend = .sqlite,
        configure: (inout SyncServerConfiguration) -> Void = { _ in }
    ) async throws {
        self.farm = farm
        var configuration = SyncServerConfiguration(dataDirectory: try DataDirectory(directory.file("server"), create: true))
        configure(&configuration)
        authority = try await TokenAuthority(secret: Self.secret)
        if backend == .postgres {
            var logger = Logger(label: "lab")
            logger.logLevel = .critical
            let postgres = try await PostgresStorage.open(
                url: try PostgresURL(try PostgresServer.shared().createDatabase()),
                logger: logger,
                connectTimeout: .seconds(60)
            )
            storage = postgres
            pool = Task { await postgres.runPool() }
        } else {
            storage = nil
            pool = nil
        }
        server = try await SyncServer(configuration: configuration, authority: authority, notices: notices, storage: storage)
    }

    deinit { pool?.cancel() }

    /// A device with its own replica (stamped by `clock`) and its sync engine; `transport` may wrap
    /// the in-process one (to drop, lose or delay requests).
    public func device(
        _ name: String,
        clock: FakeClock? = nil,
        pageSize: Int = 500,
        transport wrap: (any SyncTransport) -> any SyncTransport = { $0 }
    ) async throws -> LabDevice {
        var configuration = ReplicaConfiguration()
        configuration.deviceID = name
        configuration.farmID = farm
        if let clock { configuration.wallClock = clock.reading }
        let replica = try await Replica.open(path: directory.file(name + ".sqlite"), configuration: configuration)
        let token = try await authority.mint(subject: name, farms: [farm], lifetime: 86_400).token
        var logger = Logger(label: "lab")
        logger.logLevel = .critical
        let transport = wrap(InProcessTransport(server: server, logger: logger))
        let sync = AgentSync(
            replica: replica,
            farm: farm,
            transport: transport,
            token: TokenStore(token: token, origin: .ephemeral),
            pageSize: pageSize
        )
        return LabDevice(name: name, replica: replica, sync: sync)
    }

    /// The server's replica of the farm. On PostgreSQL, a replica made from every change the
    /// farm's store holds, so the same reads check either store.
    public func serverReplica() async throws -> Replica {
        if let storage {
            let changes = try await storage.farm(farm).changes(after: 0, limit: 1_000_000).changes
            var configuration = ReplicaConfiguration()
            configuration.deviceID = "server"
            configuration.farmID = farm
            configuration.role = .server
            let copy = try await Replica.open(path: directory.file("server-copy-\(UUID().uuidString).sqlite"), configuration: configuration)
            let report = try await copy.merge(try DirectSync.grouped(changes))
            guard report.rejected.isEmpty else { throw ReplicaError(.badData, "the store holds records a replica refuses: \(report.rejected)") }
            return copy
        }
        var configuration = ReplicaConfiguration()
        configuration.deviceID = "server"
        configuration.farmID = farm
        configuration.role = .server
        configuration.createIfMissing = false
        return try await Replica.open(path: server.configuration.dataDirectory.farmReplica(farm), configuration: configuration)
    }
}

/// A device of a ``SyncLab``.
public struct LabDevice: Sendable {
    public let name: String
    public let replica: Replica
    public let sync: AgentSync
}

/// Collects the notices a server publishes.
public final class NoticeLog: NoticePublisher {
    private let list = Mutex<[(notice: Notice, payload: [UInt8])]>([])

    public init() {}

    public func publish(_ notice: Notice, inline: [UInt8]?) {
        list.withLock { $0.append((notice, inline ?? notice.bytes)) }
    }

    /// The notices, as published on the `sync` topic.
    public var all: [Notice] { list.withLock { $0.map(\.notice) } }

    /// What went on the `changes` topic: each notice with its changes when they were inline.
    public var payloads: [[UInt8]] { list.withLock { $0.map(\.payload) } }
}
