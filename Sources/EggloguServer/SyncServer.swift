import EggloguCore
import EggloguHTTP
import EggloguJSON
import EggloguProtocol
import EggloguStore
import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOSSL

/// How `egglogu-sync-server serve` runs.
public struct SyncServerConfiguration: Sendable {
    public var dataDirectory: DataDirectory
    public var host = "127.0.0.1"
    /// 0 picks a free port (reported through `onServerRunning`).
    public var port = 8080
    /// Records stamped further ahead of server time than this are refused.
    public var maxClockSkewMilliseconds: Int64 = HybridLogicalClock.defaultMaxSkewMilliseconds
    /// How long tombstones and resolved conflict-archive entries are kept once received; nil keeps
    /// them forever. A device whose cursor is older than a purged one gets 410 `history-purged`.
    public var tombstoneRetention: Duration? = .seconds(90 * 86_400)
    /// The largest notice sent with its changes inline (at most ``Notice/inlineLimit``); 0 sends
    /// plain notices only, and every device pulls.
    public var noticeInlineBytes = Notice.inlineLimit
    /// Farm stores kept open while idle; the least recently used beyond it are closed.
    public var maxOpenFarms = 512
    /// Bodies above this get 413.
    public var maxBodyBytes = 16 << 20
    /// JSON values a body may hold (413 above): bounds the memory of any parsed body.
    public var maxJSONValues = 1_000_000
    /// Records one delta push may hold (413 above); agents push pages of 500.
    public var maxRecordsPerPush = 5_000
    /// Records one request of the app's legacy endpoint may hold (413 above).
    public var maxLegacyRecords = 50_000
    /// Rejections (or legacy conflict lines) an answer lists; the rest are counted.
    public var maxListedRejections = 1_000
    /// Bodies above this size, or of unknown length, are heavy: only ``heavyRequests`` of them are
    /// read and handled at once, and so are large legacy answers.
    public var heavyBodyBytes = 1 << 20
    public var heavyRequests = 2
    /// A legacy answer with more changes than this is read and sent in pages.
    public var legacyPageSize = 2_000
    /// How long a connection may stay idle, take over a request's head, or over its body.
    public var timeouts = ConnectionTimeouts()
    /// Records per page when a request names no limit.
    public var defaultPageSize = 500
    /// PEM certificate chain and key to serve HTTPS.
    public var tlsCertificateFile: String?
    public var tlsKeyFile: String?
    /// Trust the EGGlogU backend's access tokens on the legacy endpoint.
    public var appTokens: AppTokenConfiguration?

    public init(dataDirectory: DataDirectory) {
        self.dataDirectory = dataDirectory
    }
}

/// The sync server: one replica per farm behind the delta protocol, bearer-token auth and metrics.
public struct SyncServer: Sendable {
    public let configuration: SyncServerConfiguration
    /// The embedded SQLite stores, one per farm; nil when the farms live in a shared database.
    let stores: FarmStores?
    /// The shared database (PostgreSQL) when the server uses one.
    let shared: (any FarmStorage)?
    let registry: any DeviceDirectory
    let authority: TokenAuthority
    let metrics: ServerMetrics
    let storage: StorageProbe
    let notices: (any NoticePublisher)?
    let appTokens: AppTokenVerifier?
    let heavyRequests: RequestGate

    /// Opens the server's stores. Pass the previous generation's `metrics` on a reload, so
    /// counters keep counting.
    ///
    /// - Parameters:
    ///   - notices: where the farm's notice goes after every push that changed something.
    ///   - storage: a database shared with other instances (PostgreSQL); nil keeps every farm in
    ///     its own SQLite file under the data directory.
    public init(
        configuration: SyncServerConfiguration,
        authority: TokenAuthority,
        notices: (any NoticePublisher)? = nil,
        metrics: ServerMetrics = ServerMetrics(),
        storage: (any FarmStorage)? = nil
    ) async throws {
        self.configuration = configuration
        self.metrics = metrics
        self.notices = notices
        self.appTokens = configuration.appTokens.map(AppTokenVerifier.init(configuration:))
        self.heavyRequests = RequestGate(permits: configuration.heavyRequests)
        self.shared = storage
        let registry: any DeviceDirectory
        if let storage {
            self.stores = nil
            registry = storage.devices
        } else {
            self.stores = FarmStores(
                directory: configuration.dataDirectory,
                maxClockSkewMilliseconds: configuration.maxClockSkewMilliseconds,
                limit: configuration.maxOpenFarms,
                retention: configuration.tombstoneRetention
            )
            registry = try await DeviceRegistry.open(path: configuration.dataDirectory.serverDatabase)
        }
        self.registry = registry
        self.storage = StorageProbe(directory: configuration.dataDirectory.path) { await registry.isReadable() }
        self.authority = authority
    }

    /// Whether the server's own database answers; a supervisor restarts a server that stops
    /// answering. A full disk is not a reason to restart: `/healthz` reports it instead.
    public func isHealthy() async -> Bool {
        await registry.isReadable()
    }

    /// The HTTP application, ready to run in a `ServiceGroup`.
    public func application(
        logger: Logger,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) throws -> some ApplicationProtocol {
        let router = Router()
        router.add(middleware: MetricsMiddleware(metrics: metrics))
        router.add(middleware: JSONErrorMiddleware())
        router.add(middleware: StorageErrorMiddleware())
        router.get("/healthz") { _, _ in try await health() }
        router.get("/metrics") { _, _ in
            Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: metrics.render()))
            )
        }
        router.post("/api/v1/sync/delta") { request, context in try await push(request, context: context) }
        router.get("/api/v1/sync/delta") { request, context in try await pull(request, context: context) }
        // The router ignores a trailing slash: this serves `/api/v1/sync/` too.
        router.group().add(middleware: LegacyErrorMiddleware())
            .post("/api/v1/sync") { request, context in try await legacySync(request, context: context) }
        router.post("/api/v1/auth/renew") { request, context in try await renew(request, context: context) }

        let server: HTTPServerBuilder
        if let certificate = configuration.tlsCertificateFile, let key = configuration.tlsKeyFile {
            let chain = try NIOSSLCertificate.fromPEMFile(certificate).map { NIOSSLCertificateSource.certificate($0) }
            let tls = TLSConfiguration.makeServerConfiguration(
                certificateChain: chain,
                privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
            )
            server = try .tls(DeadlineHTTP1Channel.builder(configuration.timeouts), tlsConfiguration: tls)
        } else {
            server = DeadlineHTTP1Channel.builder(configuration.timeouts)
        }
        return Application(
            router: router,
            server: server,
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "egglogu-sync-server"),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? 0) },
            logger: logger
        )
    }

    /// The claims of the request's bearer token, which must be one of ours, valid and not revoked.
    func authenticate(_ request: Request) async throws -> TokenClaims {
        try await authenticate(token: try bearerToken(request))
    }

    func bearerToken(_ request: Request) throws -> String {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else {
            throw APIError.unauthorized("an Authorization: Bearer token is required")
        }
        return String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)
    }

    /// Device ids no token may carry: the server's own stores stamp their versions `server`.
    public static let reservedDevices: Set<String> = ["server"]

    func authenticate(token: String) async throws -> TokenClaims {
        let claims = try await authority.verify(token)
        guard !Self.reservedDevices.contains(claims.subject) else {
            throw APIError(.forbidden, "reserved-device", "the device id \(claims.subject) is reserved")
        }
        // No store keeps a NUL in a device id (PostgreSQL's text cannot hold one).
        guard !claims.subject.utf8.contains(0) else {
            throw APIError(.forbidden, "bad-device", "a device id may not hold a NUL character")
        }
        return claims
    }

    /// Checks that the token grants `farm` and was not revoked there.
    func authorize(_ claims: TokenClaims, farm: String) async throws {
        guard claims.farms.contains(farm) else {
            throw APIError.forbidden("the token does not grant farm \(farm)")
        }
        if try await isRevoked(claims, farm: farm) {
            throw APIError.unauthorized("the token was revoked for farm \(farm)")
        }
    }

    /// The store of `farm`, wherever the server keeps its farms.
    func farmStore(_ farm: String) async throws -> any FarmStore {
        guard let shared else { return try await sqliteStores().replica(farm) }
        try FarmStores.checkFarmID(farm)
        return try await shared.farm(farm)
    }

    /// The SQLite stores, which the app's legacy route needs.
    func sqliteStores() throws -> FarmStores {
        guard let stores else {
            throw APIError(
                .notImplemented,
                "legacy-unsupported",
                "this server keeps its farms in PostgreSQL, where the app's legacy route is not served yet: sync through an SQLite server"
            )
        }
        return stores
    }

    func isRevoked(_ claims: TokenClaims, farm: String) async throws -> Bool {
        try await registry.isRevoked(farm: farm, device: claims.subject, issuedAt: claims.issuedAt)
    }

    /// 200 `{"status": "ok"}`, or 503 naming what is wrong with storage.
    func health() async throws -> Response {
        let reading = await storage.read()
        let free: JSONValue = reading.freeBytes.map { .number(JSONNumber($0)) } ?? .null
        guard let problem = reading.problem else { return JSONBody.response(["status": "ok", "freeBytes": free]) }
        return JSONBody.response(
            ["status": "unhealthy", "error": .string(problem), "message": .string(reading.message), "freeBytes": free],
            status: .serviceUnavailable
        )
    }

    var serverTime: String { Timestamp(milliseconds: Int64(Date().timeIntervalSince1970 * 1000)).iso8601 }
}

/// Counts every request by endpoint and outcome.
struct MetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: ServerMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            let response = try await next(request, context)
            metrics.request(endpoint: endpoint(request), status: response.status.code)
            return response
        } catch let error as any HTTPResponseError {
            metrics.request(endpoint: endpoint(request), status: error.status.code)
            throw error
        }
    }

    private func endpoint(_ request: Request) -> String {
        switch request.uri.path {
        case "/api/v1/sync/delta": request.method == .post ? "push" : "pull"
        case "/api/v1/sync", "/api/v1/sync/": "legacy"
        case "/api/v1/auth/renew": "renew"
        case "/healthz", "/metrics": String(request.uri.path.dropFirst())
        default: "other"
        }
    }
}
