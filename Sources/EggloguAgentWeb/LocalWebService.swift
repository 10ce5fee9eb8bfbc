import EggloguAgentService
import Hummingbird
import Logging
import ServiceLifecycle

/// The local page as a `Service`. A listener that cannot bind (the port is taken, say) is
/// logged and the agent carries on syncing without it. Once the page has been quiet for a
/// while, the code pages its visits touched are handed back, as after start-up.
public struct LocalWebService: Service {
    let web: LocalWeb
    let logger: Logger
    let onListening: @Sendable (String?) -> Void

    /// - Parameter onListening: told the page's URL once it listens, and `nil` once it stops.
    public init(web: LocalWeb, logger: Logger, onListening: @escaping @Sendable (String?) -> Void = { _ in }) {
        self.web = web
        self.logger = logger
        self.onListening = onListening
    }

    /// How long after the last request the memory a visit touched is handed back.
    static let quietPeriod = Duration.seconds(30)

    public func run() async throws {
        await withTaskGroup(of: Void.self) { tasks in
            tasks.addTask { await trimWhenQuiet() }
            await serve()
            tasks.cancelAll()
        }
    }

    private func serve() async {
        let configuration = web.configuration
        let host = configuration.host.contains(":") ? "[\(configuration.host)]" : configuration.host
        let (logger, onListening) = (self.logger, self.onListening)
        let application = Application(
            router: web.router(),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "egglogu-agent"),
            onServerRunning: { channel in
                let url = "http://\(host):\(channel.localAddress?.port ?? configuration.port)/"
                logger.info(
                    "status page listening",
                    metadata: [
                        "url": "\(url)",
                        "access": "\(configuration.password != nil ? "password" : configuration.isLoopback ? "loopback" : "refused: no password")",
                    ]
                )
                onListening(url)
            },
            logger: logger
        )
        do {
            try await application.run()
        } catch {
            logger.error(
                "status page cannot listen; syncing carries on without it",
                metadata: ["address": "\(host):\(configuration.port)", "error": "\(error)"]
            )
            try? await gracefulShutdown()
        }
        onListening(nil)
    }

    private func trimWhenQuiet() async {
        var trimmedAfter = 0
        while true {
            do { try await Task.sleep(for: Self.quietPeriod / 2) } catch { return }
            let (requests, last) = web.activity.snapshot
            if requests != trimmedAfter, let last, ContinuousClock.now - last >= Self.quietPeriod {
                MemoryTrim.release()
                trimmedAfter = requests
            }
        }
    }
}

extension LocalWebService: CustomStringConvertible {
    /// What service-lifecycle logs when it starts and stops the page: no secret.
    public var description: String { "LocalWebService(\(web.configuration))" }
}
