import EggloguHTTP
import EggloguJSON
import EggloguProtocol
import EggloguStore
import Logging

/// The delta protocol without a network: an agent's requests go to a ``SyncServer`` in the same
/// process, through the same authentication, checks, store and answer bytes as over HTTP. Sync
/// logic is tested with it deterministically; nothing is mocked but the socket.
public struct InProcessTransport: SyncTransport {
    private let server: SyncServer
    private let logger: Logger

    public init(server: SyncServer, logger: Logger = Logger(label: "egglogu.in-process")) {
        self.server = server
        self.logger = logger
    }

    public func push(_ body: PushBody, token: String) async throws(SyncTransportError) -> SyncResponse {
        try await answer {
            let claims = try await server.authenticate(token: token)
            let json = try JSONParser(maxValues: server.configuration.maxJSONValues).parse(body.bytes)
            return try await server.push(json, claims: claims, logger: logger)
        }
    }

    public func pull(farm: String, since: String?, limit: Int, token: String) async throws(SyncTransportError) -> SyncResponse {
        try await answer {
            let claims = try await server.authenticate(token: token)
            return try await server.pull(farm: farm, since: since, limit: String(limit), claims: claims, logger: logger)
        }
    }

    public func renew(token: String) async throws(SyncTransportError) -> String {
        do {
            let claims = try await server.authenticate(token: token)
            return try await server.renewed(claims).token
        } catch {
            throw Self.transportError(error)
        }
    }

    /// Runs a request and reads its answer as a client would.
    private func answer(_ request: () async throws -> [UInt8]) async throws(SyncTransportError) -> SyncResponse {
        let bytes: [UInt8]
        do {
            bytes = try await request()
        } catch {
            throw Self.transportError(error)
        }
        do {
            var response = try SyncResponse(json: try JSONParser().parse(bytes))
            response.bytes = bytes.count
            return response
        } catch {
            throw SyncTransportError(.badResponse, "the answer is not the protocol's: \(error)")
        }
    }

    /// What an HTTP client would have made of the error's answer.
    private static func transportError(_ error: any Error) -> SyncTransportError {
        let answered = (error as? APIError) ?? (error as? ReplicaError).flatMap(APIError.init(storage:))
        guard let answered else { return SyncTransportError(.unavailable, status: 500, "in-process server failed: \(error)") }
        let status = Int(answered.status.code)
        return SyncTransportError(
            .init(status: status),
            status: status,
            "in-process server answered \(status): \(answered.message)",
            resyncReason: answered.reason.flatMap(SyncTransportError.ResyncReason.init(rawValue:))
        )
    }
}
