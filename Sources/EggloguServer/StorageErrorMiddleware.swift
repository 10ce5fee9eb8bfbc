import EggloguHTTP
import EggloguStore
import HTTPTypes
import Hummingbird

extension APIError {
    /// The answer to a storage failure, or nil for failures that are about the request's data.
    init?(storage error: ReplicaError) {
        switch error.code {
        case .cursorAhead:
            self = .resyncRequired
        case .historyPurged:
            self = .historyPurged
        case .diskFull:
            self.init(
                HTTPResponse.Status(code: 507, reasonPhrase: "Insufficient Storage"),
                "disk-full",
                "the server's disk is full: nothing was stored; retry later",
                headers: [.retryAfter: "60"]
            )
        case .busy:
            self.init(.serviceUnavailable, "busy", "the farm's store is busy: retry", headers: [.retryAfter: "1"])
        case .io, .cannotOpen:
            // The data directory went away (read-only, unmounted, failing): it may come back, so
            // clients back off and retry instead of giving up.
            self.init(
                .serviceUnavailable,
                "storage-unavailable",
                "the server cannot read or write its store right now: retry later",
                headers: [.retryAfter: "30"]
            )
        case .unreadable, .migrationFailed:
            self.init(.internalServerError, "storage-failed", "the server could not read or write its store")
        default:
            return nil
        }
    }
}

/// Answers storage failures of the delta routes as the API errors above; other errors pass on.
struct StorageErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as ReplicaError {
            throw APIError(storage: error) ?? error
        }
    }
}
