import EggloguProtocol
import Synchronization

/// A transport that breaks one request of the next cycle as a network would: it never arrives,
/// its answer is lost, or it arrives twice.
final class FaultyTransport: SyncTransport {
    private let inner: any SyncTransport
    private let plan = Mutex<(fault: NetworkFault, requests: Int)>((.none, 0))

    init(_ inner: any SyncTransport) {
        self.inner = inner
    }

    /// Breaks the next cycle's requests as `fault` says; the count starts over.
    func arm(_ fault: NetworkFault) {
        plan.withLock { $0 = (fault, 0) }
    }

    func push(_ body: PushBody, token: String) async throws(SyncTransportError) -> SyncResponse {
        try await send { () async throws(SyncTransportError) in try await inner.push(body, token: token) }
    }

    func pull(farm: String, since: String?, limit: Int, token: String) async throws(SyncTransportError) -> SyncResponse {
        try await send { () async throws(SyncTransportError) in try await inner.pull(farm: farm, since: since, limit: limit, token: token) }
    }

    func renew(token: String) async throws(SyncTransportError) -> String {
        try await inner.renew(token: token)
    }

    private func send(_ request: () async throws(SyncTransportError) -> SyncResponse) async throws(SyncTransportError) -> SyncResponse {
        let (fault, n) = plan.withLock { plan in
            defer { plan.requests += 1 }
            return (plan.fault, plan.requests)
        }
        switch fault {
        case .unreachable(let at) where at == n:
            throw SyncTransportError(.unavailable, "request \(n + 1) never arrived")
        case .answerLost(let at) where at == n:
            _ = try await request()
            throw SyncTransportError(.unavailable, "answer \(n + 1) was lost")
        case .duplicated(let at) where at == n:
            _ = try? await request()
            return try await request()
        default:
            return try await request()
        }
    }
}
