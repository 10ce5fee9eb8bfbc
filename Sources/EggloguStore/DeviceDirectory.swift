import Foundation

/// The devices a sync server knows and the revocations it enforces. ``DeviceRegistry`` keeps them
/// in `server.sqlite`; a PostgreSQL store keeps them in its database, shared by every instance.
public protocol DeviceDirectory: Sendable {
    /// Whether the directory answers a read (the watchdog's health check).
    func isReadable() async -> Bool
    /// Remembers that `device` may use `farms` (called when a token is minted).
    func register(device: String, farms: [String]) async throws
    /// Revokes every token of `device` for `farm` issued before `now`.
    func revoke(farm: String, device: String, at now: Date) async throws
    /// Whether a token of `device` issued at `issuedAt` was revoked for `farm`.
    func isRevoked(farm: String, device: String, issuedAt: Date) async throws -> Bool
    /// Records that `device` was seen (at most once a minute is written).
    func touch(farm: String, device: String, at now: Date) async throws
    /// The devices of `farm`, by id.
    func devices(farm: String) async throws -> [DeviceEntry]
}

extension DeviceDirectory {
    /// Revokes every token of `device` for `farm` issued until now.
    public func revoke(farm: String, device: String) async throws {
        try await revoke(farm: farm, device: device, at: Date())
    }

    /// Records that `device` synced `farm` now.
    public func touch(farm: String, device: String) async throws {
        try await touch(farm: farm, device: device, at: Date())
    }
}

extension DeviceRegistry: DeviceDirectory {}
