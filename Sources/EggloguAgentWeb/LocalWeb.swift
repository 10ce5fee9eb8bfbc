import EggloguAgentService
import EggloguHTTP
import EggloguJSON
import EggloguStore
import Foundation
import Hummingbird

/// The agent's local status page and its JSON API, over the agent's replica.
///
/// Conflicts are farm-wide (the archive syncs), so every device's page shows the same list,
/// and a resolution made here behaves exactly like `egglogu-agent resolve`.
public struct LocalWeb: Sendable {
    public let replica: Replica
    public let monitor: AgentMonitor
    public let configuration: LocalWebConfiguration
    /// Called after every change made through the page, so it is pushed (and announced) at once.
    let onLocalChange: @Sendable () -> Void
    /// The token every POST must echo in `X-CSRF-Token`; new for every start.
    let csrfToken: String
    /// How many requests came, and when the last did.
    let activity = Activity()
    /// Wrong passwords per client address.
    let throttle: LoginThrottle

    public init(
        replica: Replica,
        monitor: AgentMonitor,
        configuration: LocalWebConfiguration,
        onLocalChange: @escaping @Sendable () -> Void = {}
    ) {
        self.init(replica: replica, monitor: monitor, configuration: configuration, onLocalChange: onLocalChange, throttle: LoginThrottle())
    }

    /// The page with the throttle it uses (tests give it their own clock).
    init(
        replica: Replica,
        monitor: AgentMonitor,
        configuration: LocalWebConfiguration,
        onLocalChange: @escaping @Sendable () -> Void,
        throttle: LoginThrottle
    ) {
        self.replica = replica
        self.monitor = monitor
        self.configuration = configuration
        self.onLocalChange = onLocalChange
        self.throttle = throttle
        var generator = SystemRandomNumberGenerator()
        self.csrfToken = (0..<4).map { _ in String(generator.next() as UInt64, radix: 16) }.joined(separator: "-")
    }

    /// The routes, behind access control and JSON errors.
    func router() -> Router<PageRequestContext> {
        let router = Router(context: PageRequestContext.self)
        router.add(middleware: ActivityMiddleware(activity: activity))
        router.add(middleware: SecurityHeadersMiddleware())
        router.add(middleware: JSONErrorMiddleware())
        router.add(middleware: AccessMiddleware(configuration: configuration, csrfToken: csrfToken, throttle: throttle))
        for (path, asset) in Assets.all {
            router.get(RouterPath(path)) { _, _ in asset.response }
        }
        router.get("/metrics") { _, _ in
            Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: await monitor.render(replica: replica)))
            )
        }
        router.get("/api/session") { _, _ in
            JSONBody.response([
                "csrfToken": .string(csrfToken), "deviceId": .string(replica.deviceID),
                "farmId": replica.farmID.map(JSONValue.string) ?? .null,
            ])
        }
        router.get("/api/status") { _, _ in try await JSONBody.response(Self.answer { try await replica.status().json }) }
        router.get("/api/events") { _, _ in JSONBody.response(["events": .array(monitor.events.map(\.json))]) }
        router.get("/api/conflicts") { request, _ in try await conflicts(request) }
        router.get("/api/conflicts/{id}") { _, context in try await conflict(context.parameters.require("id")) }
        router.post("/api/conflicts/{id}/resolve") { request, context in
            try await resolve(context.parameters.require("id"), request)
        }
        router.get("/api/deleted") { request, _ in try await deleted(request) }
        router.post("/api/restore") { request, _ in try await restore(request) }
        router.get("/api/**") { _, _ -> Response in throw APIError(.notFound, "not-found", "no such API endpoint") }
        router.post("/api/**") { _, _ -> Response in throw APIError(.notFound, "not-found", "no such API endpoint") }
        return router
    }

    /// Runs a replica operation, turning its errors into API errors.
    static func answer<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as ReplicaError {
            switch error.code {
            case .notFound: throw APIError(.notFound, "not-found", error.message)
            case .alreadyResolved: throw APIError(.conflict, "already-resolved", error.message)
            case .badData, .invalidName: throw APIError(.badRequest, "bad-request", error.message)
            case .busy: throw APIError(.serviceUnavailable, "busy", error.message)
            default: throw APIError(.internalServerError, "replica", error.message)
            }
        }
    }

    /// A JSON answer that changes only when the replica does: tagged with its head sequence (and
    /// `variant`), so a page that polls gets a bodiless 304 until something changed.
    func revalidated(_ request: Request, variant: String, _ body: () async throws -> JSONValue) async throws -> Response {
        let tag = "\"\(try await Self.answer { try await replica.headSequence() })-\(variant)\""
        if request.headers[.ifNoneMatch]?.split(separator: ",").contains(where: { $0.trimmingCharacters(in: .whitespaces) == tag }) == true {
            return Response(status: .notModified, headers: [.eTag: tag])
        }
        var response = JSONBody.response(try await body())
        response.headers[.eTag] = tag
        return response
    }

    /// The body as a JSON object: 413 above the limit, 400 when malformed or not an object.
    func object(_ request: Request) async throws -> JSONObject {
        guard case .object(let object) = try await JSONBody.read(request, limit: configuration.maxBodyBytes) else {
            throw APIError(.badRequest, "bad-request", "the body must be a JSON object")
        }
        return object
    }
}

extension LocalWeb: CustomStringConvertible, CustomDebugStringConvertible {
    /// Never the CSRF token or the password.
    public var description: String { "LocalWeb(\(configuration))" }
    public var debugDescription: String { description }
}
