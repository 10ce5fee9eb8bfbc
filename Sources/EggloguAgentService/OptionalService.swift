import Logging
import ServiceLifecycle

/// A part the agent can sync without (the local-change watcher, the broker link, the status
/// page). When it ends or fails before shutdown, that is logged and `onEnd` runs, and the
/// wrapper waits for the group's shutdown instead of ending: a `ServiceGroup` stops every service
/// when one returns, and the sync loop must carry on (polling, if it was the broker that went).
public struct OptionalService: Service, CustomStringConvertible {
    private let base: any Service
    private let name: String
    private let logger: Logger
    private let onEnd: @Sendable () -> Void

    public init(_ base: any Service, name: String, logger: Logger, onEnd: @escaping @Sendable () -> Void = {}) {
        self.base = base
        self.name = name
        self.logger = logger
        self.onEnd = onEnd
    }

    public var description: String { "\(base)" }

    public func run() async throws {
        do {
            try await base.run()
        } catch {
            if !Task.isShuttingDownGracefully && !Task.isCancelled {
                logger.error("an optional part failed; syncing carries on without it", metadata: ["part": "\(name)", "error": "\(error)"])
            }
        }
        guard !Task.isShuttingDownGracefully && !Task.isCancelled else { return }
        logger.warning("an optional part stopped; syncing carries on without it", metadata: ["part": "\(name)"])
        onEnd()
        try? await gracefulShutdown()
    }
}
