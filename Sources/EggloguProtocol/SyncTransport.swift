/// How an agent reaches its server: the three requests of the delta protocol.
///
/// `EggloguSyncClient.SyncClient` carries them over HTTP(S); `EggloguServer.InProcessTransport`
/// hands them to a server in the same process, through the same handlers and wire format, so
/// sync logic can be tested deterministically.
public protocol SyncTransport: Sendable {
    /// `POST /api/v1/sync/delta`: a page of the device's changes; the answer carries what it has not seen.
    func push(_ body: PushBody, token: String) async throws(SyncTransportError) -> SyncResponse
    /// `GET /api/v1/sync/delta`: a page of changes after `since`.
    func pull(farm: String, since: String?, limit: Int, token: String) async throws(SyncTransportError) -> SyncResponse
    /// `POST /api/v1/auth/renew`: a fresh token for a valid one.
    func renew(token: String) async throws(SyncTransportError) -> String
    /// Releases what the transport holds (connections); call once no request is in flight.
    func shutdown() async
}

extension SyncTransport {
    /// Releases what the transport holds (connections); call once no request is in flight.
    public func shutdown() async {}
}
