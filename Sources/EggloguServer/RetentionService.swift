import Logging
import ServiceLifecycle

/// Purges expired tombstones on the open farms every ``interval`` (with jitter), until graceful
/// shutdown. Farms that are not open are purged when they next open.
public struct RetentionService: Service {
    private let server: SyncServer
    private let logger: Logger
    private let interval: Duration

    public init(server: SyncServer, logger: Logger, interval: Duration = .seconds(3_600)) {
        self.server = server
        self.logger = logger
        self.interval = interval
    }

    public func run() async throws {
        guard server.configuration.tombstoneRetention != nil else {
            // A service that returns ends the group: wait for the shutdown instead.
            try? await gracefulShutdown()
            return
        }
        while !Task.isCancelled {
            let jittered = interval * Double.random(in: 0.8...1.2)
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: jittered) }
            } catch {
                return
            }
            _ = await server.purgeExpired(logger: logger)
        }
    }
}
