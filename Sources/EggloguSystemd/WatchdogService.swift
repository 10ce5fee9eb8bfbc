import ServiceLifecycle

/// Pings systemd's watchdog at half its interval while `healthy()` says so; a process that stops
/// answering, or stops being healthy, is restarted by systemd.
public struct WatchdogService: Service {
    private let notifier: SystemdNotifier
    private let healthy: @Sendable () async -> Bool

    public init(notifier: SystemdNotifier, healthy: @escaping @Sendable () async -> Bool) {
        self.notifier = notifier
        self.healthy = healthy
    }

    public func run() async throws {
        guard let interval = notifier.watchdogInterval else {
            try? await gracefulShutdown()
            return
        }
        while !Task.isCancelled {
            if await healthy() { notifier.watchdog() }
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval / 2) }
            } catch {
                return
            }
        }
    }
}
