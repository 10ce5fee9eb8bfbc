import AsyncHTTPClient
import EggloguJSON
import EggloguProtocol
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL

/// The agent's side of the delta protocol over HTTP(S).
public final class SyncClient: SyncTransport {
    /// Where the server is and how to trust it.
    public struct Configuration: Sendable {
        /// e.g. `http://127.0.0.1:8080` or `https://sync.example.org`.
        public var serverURL: String
        /// A PEM CA bundle trusted besides the system roots (`EGGLOGU_SERVER_CA_FILE`).
        public var caFile: String?
        /// How long one request may take.
        public var timeoutSeconds: Int64 = 60
        /// How long an answer may stay silent: a link that drops packets fails the request then,
        /// not at ``timeoutSeconds``, and the sync loop's backoff takes over.
        public var readTimeoutSeconds: Int64 = 20

        public init(serverURL: String, caFile: String? = nil) {
            self.serverURL = serverURL
            self.caFile = caFile
        }
    }

    private let http: HTTPClient
    private let base: String
    private let timeout: TimeAmount
    /// Responses above this are refused (a page of 5,000 records is far below it).
    private static let maxResponseBytes = 256 << 20

    public init(configuration: Configuration) throws {
        var base = configuration.serverURL
        while base.hasSuffix("/") { base.removeLast() }
        guard let url = URL(string: base), let scheme = url.scheme, ["http", "https"].contains(scheme), url.host != nil else {
            throw SyncTransportError(.refused, "the server URL must look like http://host:port or https://host")
        }
        var tls = TLSConfiguration.makeClientConfiguration()
        if let caFile = configuration.caFile {
            do {
                tls.additionalTrustRoots = [.certificates(try NIOSSLCertificate.fromPEMFile(caFile))]
            } catch {
                throw SyncTransportError(.refused, "cannot read the CA file \(caFile): \(error)")
            }
        }
        var client = HTTPClient.Configuration(
            tlsConfiguration: tls,
            timeout: .init(connect: .seconds(10), read: .seconds(configuration.readTimeoutSeconds))
        )
        // A refused or failed connection fails the request at once: the agent has its own backoff,
        // and a sync must not hang until the request deadline while the server is down.
        client.connectionPool.retryConnectionEstablishment = false
        self.http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: client)
        self.base = base
        self.timeout = .seconds(configuration.timeoutSeconds)
    }

    /// Releases connections; call once no request is in flight.
    public func shutdown() async {
        try? await http.shutdown()
    }

    deinit {
        // A client dropped without `shutdown()` (a path that threw) still releases its connections:
        // AsyncHTTPClient keeps itself alive until that is done, and traps in debug builds when a
        // client that is still running is deinitialized. Once shut down, this is a no-op.
        http.shutdown { _ in }
    }

    /// `POST /api/v1/sync/delta`.
    public func push(_ body: PushBody, token: String) async throws(SyncTransportError) -> SyncResponse {
        let (body, size) = try await send(.POST, "/api/v1/sync/delta", token: token, body: body.bytes)
        do {
            var response = try SyncResponse(json: body)
            response.bytes = size
            return response
        } catch {
            throw SyncTransportError(.badResponse, error.message)
        }
    }

    /// `GET /api/v1/sync/delta?farmId=F&since=CURSOR&limit=N`.
    public func pull(farm: String, since: String?, limit: Int, token: String) async throws(SyncTransportError) -> SyncResponse {
        var query = "farmId=\(Self.escape(farm))&limit=\(limit)"
        if let since { query += "&since=\(Self.escape(since))" }
        let (body, size) = try await send(.GET, "/api/v1/sync/delta?" + query, token: token, body: nil)
        do {
            var response = try SyncResponse(json: body)
            response.bytes = size
            return response
        } catch {
            throw SyncTransportError(.badResponse, error.message)
        }
    }

    /// `POST /api/v1/auth/renew`: a fresh token for a valid one.
    public func renew(token: String) async throws(SyncTransportError) -> String {
        let (body, _) = try await send(.POST, "/api/v1/auth/renew", token: token, body: Array("{}".utf8))
        guard case .string(let fresh)? = body.objectValue?["token"] else {
            throw SyncTransportError(.badResponse, "the renewal answer has no token")
        }
        return fresh
    }

    /// The answer's JSON and its size in bytes.
    private func send(
        _ method: HTTPMethod,
        _ path: String,
        token: String,
        body: [UInt8]?
    ) async throws(SyncTransportError) -> (JSONValue, Int) {
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer " + token)
        request.headers.add(name: "Accept", value: "application/json")
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let status: Int
        let buffer: ByteBuffer
        do {
            let response = try await http.execute(request, timeout: timeout)
            status = Int(response.status.code)
            buffer = try await response.body.collect(upTo: Self.maxResponseBytes)
        } catch {
            throw SyncTransportError(.unavailable, "cannot reach \(base): \(Self.describe(error))")
        }
        let json = try? JSONParser().parse(Array(buffer.readableBytesView))
        guard status == 200 else {
            let message = json?.objectValue?["message"]?.stringValue ?? "HTTP \(status)"
            throw SyncTransportError(
                .init(status: status),
                status: status,
                "\(base) answered \(status): \(message)",
                resyncReason: json?.objectValue?["reason"]?.stringValue.flatMap(SyncTransportError.ResyncReason.init(rawValue:))
            )
        }
        guard let json else { throw SyncTransportError(.badResponse, "\(base) answered with malformed JSON") }
        return (json, buffer.readableBytes)
    }

    private static func escape(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? text
    }

    private static func describe(_ error: any Error) -> String {
        if let error = error as? HTTPClientError { return "\(error)" }
        return String(describing: error)
    }
}
