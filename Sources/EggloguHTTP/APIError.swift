import EggloguJSON
import Hummingbird
import NIOCore

/// An error answered as `{"error": code, "message": text}` with its HTTP status.
public struct APIError: Error, HTTPResponseError, Sendable {
    public let status: HTTPResponse.Status
    public let code: String
    public let message: String
    /// Extra response headers, such as `WWW-Authenticate` on a 401.
    public let headers: HTTPFields
    /// Why, in a word a client can act on, when the code alone does not say (`reason` in the body).
    public let reason: String?

    public init(_ status: HTTPResponse.Status, _ code: String, _ message: String, reason: String? = nil, headers: HTTPFields = [:]) {
        self.status = status
        self.code = code
        self.message = message
        self.reason = reason
        self.headers = headers
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var members: [(String, JSONValue)] = [("error", .string(code)), ("message", .string(message))]
        if let reason { members.append(("reason", .string(reason))) }
        let body = JSONBody.encode(.object(JSONObject(members)))
        var fields: HTTPFields = [.contentType: "application/json; charset=utf-8"]
        fields.append(contentsOf: headers)
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }

    public static func unauthorized(_ message: String) -> APIError { APIError(.unauthorized, "unauthorized", message) }
    public static func forbidden(_ message: String) -> APIError { APIError(.forbidden, "forbidden", message) }
    public static func badRequest(_ message: String) -> APIError { APIError(.badRequest, "bad-request", message) }
}

/// Turns every error into a JSON error body, so clients never see HTML or an empty 500.
public struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            throw error
        } catch let error as any HTTPResponseError {
            let code = error.status == .notFound ? "not-found" : error.status == .contentTooLarge ? "payload-too-large" : "http-\(error.status.code)"
            throw APIError(error.status, code, error.status.reasonPhrase)
        } catch {
            context.logger.error("request failed", metadata: ["error": "\(error)", "path": "\(request.uri.path)"])
            throw APIError(.internalServerError, "internal", "the server failed to handle the request")
        }
    }
}
