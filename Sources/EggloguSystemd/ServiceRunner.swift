import Logging
import ServiceLifecycle
import Synchronization
import UnixSignals

/// Runs a program's services in one `ServiceGroup` until SIGTERM or SIGINT, and reloads on SIGHUP.
///
/// On SIGHUP the runner asks for a new configuration first. When that fails (a bad config file,
/// say) the error is logged and the running services carry on untouched. When it succeeds, the
/// group shuts down gracefully (whatever is in flight finishes) and a new group starts with the
/// new configuration. systemd hears `READY=1` once a group is up, `RELOADING=1` during a reload
/// and `STOPPING=1` on shutdown.
public struct ServiceRunner<Configuration: Sendable>: Sendable {
    public typealias Reload = @Sendable () async throws -> Configuration
    public typealias MakeServices = @Sendable (Configuration, ReadySignal) async throws -> [any Service]

    private let notifier: SystemdNotifier
    private let logger: Logger
    private let reload: Reload
    private let makeServices: MakeServices

    /// - Parameters:
    ///   - reload: reads the configuration again; throwing keeps the current one.
    ///   - makeServices: the services for a configuration. Call the ``ReadySignal`` when they
    ///     can serve; services that never call it are ready as soon as the group has started them.
    public init(notifier: SystemdNotifier, logger: Logger, reload: @escaping Reload, makeServices: @escaping MakeServices) {
        self.notifier = notifier
        self.logger = logger
        self.reload = reload
        self.makeServices = makeServices
    }

    private struct State {
        var group: ServiceGroup?
        var pending: Configuration?
        var reloading = false
        var stopping = false
    }

    private final class Shared: Sendable {
        let state = Mutex(State())
    }

    /// Runs until SIGTERM or SIGINT.
    public func run(_ initial: Configuration, readyWhenStarted: Bool = true) async throws {
        let shared = Shared()
        // One handler for all three signals, so a SIGTERM that arrives during a reload still stops.
        let signals = await UnixSignalsSequence(trapping: .sighup, .sigterm, .sigint)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { [notifier, logger, reload] in
                for await signal in signals {
                    if signal != .sighup {
                        let group = shared.state.withLock { state -> ServiceGroup? in
                            state.stopping = true
                            state.reloading = false
                            return state.group
                        }
                        logger.notice("stopping", metadata: ["signal": "\(signal)"])
                        await group?.triggerGracefulShutdown()
                        continue
                    }
                    notifier.reloading()
                    logger.notice("SIGHUP: reloading the configuration")
                    do {
                        let next = try await reload()
                        let group = shared.state.withLock { state -> ServiceGroup? in
                            guard !state.stopping else { return nil }
                            state.pending = next
                            state.reloading = state.group != nil
                            return state.group
                        }
                        await group?.triggerGracefulShutdown()
                    } catch {
                        logger.error("reload refused; still running with the previous configuration", metadata: ["error": "\(error)"])
                        notifier.ready()
                    }
                }
            }
            var configuration = initial
            while true {
                let ready = ReadySignal(notifier: notifier)
                var services = try await makeServices(configuration, ready)
                services.append(
                    Lifecycle(
                        ready: ready,
                        readyWhenStarted: readyWhenStarted,
                        notifier: notifier,
                        isReloading: {
                            shared.state.withLock { $0.reloading }
                        }
                    )
                )
                let group = ServiceGroup(configuration: .init(services: services, logger: logger))
                let stopped = shared.state.withLock { state in
                    state.group = group
                    return state.stopping
                }
                if stopped { break }
                do {
                    try await group.run()
                } catch {
                    shared.state.withLock { $0.group = nil }
                    tasks.cancelAll()
                    throw error
                }
                let next = shared.state.withLock { state -> Configuration? in
                    defer {
                        state.group = nil
                        state.pending = nil
                        state.reloading = false
                    }
                    return state.reloading ? state.pending : nil
                }
                guard let next else { break }
                configuration = next
                logger.notice("configuration reloaded")
            }
            tasks.cancelAll()
        }
    }

    /// The last service of every group: readiness on start, `STOPPING=1` when a shutdown is not a reload.
    private struct Lifecycle: Service {
        let ready: ReadySignal
        let readyWhenStarted: Bool
        let notifier: SystemdNotifier
        let isReloading: @Sendable () -> Bool

        func run() async throws {
            if readyWhenStarted { ready.ready() }
            try? await gracefulShutdown()
            if !isReloading() { notifier.stopping() }
        }
    }
}

/// Tells systemd, once per group, that the services are up.
public final class ReadySignal: Sendable {
    private let notifier: SystemdNotifier
    private let sent = Mutex(false)

    init(notifier: SystemdNotifier) {
        self.notifier = notifier
    }

    /// Sends `READY=1` the first time it is called.
    public func ready() {
        let first = sent.withLock { sent in
            defer { sent = true }
            return !sent
        }
        if first { notifier.ready() }
    }
}

/// A reload that was refused; the process carries on with what it had.
public struct ReloadError: Error, CustomStringConvertible {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}
