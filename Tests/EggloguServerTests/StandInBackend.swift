import EggloguAppEmulator
import EggloguHTTP
import EggloguJSON
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import Synchronization

/// A stand-in for the EGGlogU backend, which cannot run here (FastAPI with PostgreSQL and Redis):
/// `POST /api/v1/auth/refresh` rotates refresh tokens as the backend does, and any other request
/// is answered `{"backend": true, "path": ...}` so a test sees where a proxy sent it.
struct StandInBackend: Sendable {
    let port: Int
    private let sessions: Sessions

    final class Sessions: Sendable {
        /// Refresh token → (user, org); each is usable once.
        let live = Mutex<[String: (String, String)]>([:])
        let refreshes = Mutex(0)
    }

    /// A logged-in browser's tokens.
    func logIn(user: String, org: String, accessLifetime: TimeInterval = 1_800) -> (access: String, refresh: String) {
        let refresh = AppTokens.access(user: user, org: nil, lifetime: 7 * 86_400, type: "refresh")
        sessions.live.withLock { $0[refresh] = (user, org) }
        return (AppTokens.access(user: user, org: org, lifetime: accessLifetime), refresh)
    }

    var refreshCount: Int { sessions.refreshes.withLock { $0 } }

    static func with<T: Sendable>(_ body: @Sendable (StandInBackend) async throws -> T) async throws -> T {
        let sessions = Sessions()
        let router = Router()
        router.post("/api/v1/auth/refresh") { request, _ in
            let given = try await JSONBody.read(request, limit: 1 << 16).objectValue?["refresh_token"]?.stringValue ?? ""
            guard let (user, org) = sessions.live.withLock({ $0.removeValue(forKey: given) }) else {
                return JSONBody.response(["detail": "Invalid refresh token"], status: .unauthorized)
            }
            sessions.refreshes.withLock { $0 += 1 }
            let refresh = AppTokens.access(user: user, org: nil, lifetime: 7 * 86_400, type: "refresh")
            sessions.live.withLock { $0[refresh] = (user, org) }
            return JSONBody.response([
                "access_token": .string(AppTokens.access(user: user, org: org)), "refresh_token": .string(refresh), "token_type": "bearer",
            ])
        }
        // The router does not backtrack, so every prefix of a real route needs its own catch-all.
        for method in [HTTPRequest.Method.get, .post] {
            for path in ["**", "/api/**", "/api/v1/**", "/api/v1/auth/**"] {
                router.on(RouterPath(path), method: method) { request, _ in
                    JSONBody.response(["backend": true, "path": .string(request.uri.path)])
                }
            }
        }
        var logger = Logger(label: "stand-in-backend")
        logger.logLevel = .error
        return try await running(
            logger: logger,
            { onRunning in
                Application(
                    router: router,
                    configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                    onServerRunning: { await onRunning($0.localAddress?.port ?? 0) },
                    logger: logger
                )
            }
        ) { port in
            try await body(StandInBackend(port: port, sessions: sessions))
        }
    }
}
