import Hummingbird
import Synchronization

/// Requests so far and when the last one came.
final class Activity: Sendable {
    private let state = Mutex<(requests: Int, last: ContinuousClock.Instant?)>((0, nil))

    var snapshot: (requests: Int, last: ContinuousClock.Instant?) { state.withLock { $0 } }

    func record() {
        state.withLock { $0 = ($0.requests + 1, .now) }
    }
}

/// Counts every request into an ``Activity``.
struct ActivityMiddleware<Context: RequestContext>: RouterMiddleware {
    let activity: Activity

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        activity.record()
        return try await next(request, context)
    }
}
