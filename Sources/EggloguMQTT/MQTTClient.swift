import CMosquitto
import Dispatch
import Foundation
import Synchronization

/// An MQTT client on libmosquitto that owns its reconnect policy.
///
/// ``run()`` drives the connection on a thread of its own (``loopOnce(timeoutMilliseconds:)``), so no
/// libmosquitto-owned thread ever runs Swift code or holds the last reference. It reconnects
/// forever after every kind of failure (refused, DNS, TLS, bad credentials, a broker that is down
/// at start), waiting 1 s doubling up to 2 min, with jitter, and re-subscribes on every connect.
public final class MQTTClient: @unchecked Sendable {
    public let configuration: MQTTConfiguration
    /// Connection events and incoming messages, in order.
    public let events: AsyncStream<MQTTEvent>
    private let continuation: AsyncStream<MQTTEvent>.Continuation
    let handle: OpaquePointer
    private let state = Mutex(State())
    private let wakeup = DispatchSemaphore(value: 0)

    private struct State {
        var connected = false
        var stopping = false
        var refusal: String?
        var running = false
        /// libmosquitto's last error log line (OpenSSL's reason for a failed handshake, say).
        var libraryError: String?
        /// Subscriptions of this connection the broker has not acknowledged yet.
        var pendingSubscriptions: Set<Int32> = []
        /// What ``stop(publishingWill:)`` sent (unsubscriptions, the will) and the broker has not acknowledged yet.
        var closingRequests: Set<Int32> = []
    }

    private static let library: Void = { mosquitto_lib_init() }()

    public init(configuration: MQTTConfiguration) throws(MQTTError) {
        _ = MQTTClient.library
        guard let handle = mosquitto_new(configuration.clientID, true, nil) else {
            throw MQTTError(operation: "mosquitto_new", result: .errno)
        }
        self.handle = handle
        self.configuration = configuration
        (events, continuation) = AsyncStream<MQTTEvent>.makeStream(bufferingPolicy: .bufferingNewest(1_024))
        do throws(MQTTError) {
            try configure()
        } catch {
            mosquitto_destroy(handle)
            throw error
        }
        mosquitto_user_data_set(handle, Unmanaged.passUnretained(self).toOpaque())
        mosquitto_connect_callback_set(handle) { _, context, rc in
            MQTTClient.from(context).didConnect(rc)
        }
        mosquitto_disconnect_callback_set(handle) { _, context, _ in
            MQTTClient.from(context).state.withLock { $0.connected = false }
        }
        mosquitto_subscribe_callback_set(handle) { _, context, mid, _, _ in
            MQTTClient.from(context).didSubscribe(mid)
        }
        mosquitto_unsubscribe_callback_set(handle) { _, context, mid in
            _ = MQTTClient.from(context).state.withLock { $0.closingRequests.remove(mid) }
        }
        mosquitto_publish_callback_set(handle) { _, context, mid in
            _ = MQTTClient.from(context).state.withLock { $0.closingRequests.remove(mid) }
        }
        mosquitto_log_callback_set(handle) { _, context, level, text in
            guard level == MOSQ_LOG_ERR, let text else { return }
            MQTTClient.from(context).state.withLock { $0.libraryError = String(cString: text) }
        }
        mosquitto_message_callback_set(handle) { _, context, message in
            guard let message = message?.pointee, let topic = message.topic else { return }
            let payload =
                message.payloadlen > 0
                ? Array(UnsafeRawBufferPointer(start: message.payload, count: Int(message.payloadlen))) : []
            MQTTClient.from(context).continuation.yield(.message(topic: String(cString: topic), payload: payload, retained: message.retain))
        }
    }

    deinit {
        mosquitto_destroy(handle)
        continuation.finish()
    }

    private static func from(_ context: UnsafeMutableRawPointer?) -> MQTTClient {
        Unmanaged<MQTTClient>.fromOpaque(context!).takeUnretainedValue()
    }

    private func configure() throws(MQTTError) {
        try check(mosquitto_threaded_set(handle, true), "mosquitto_threaded_set")
        let version = configuration.protocolVersion == .v5 ? MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311
        try check(mosquitto_int_option(handle, MOSQ_OPT_PROTOCOL_VERSION, Int32(version)), "protocol version")
        if configuration.username != nil || configuration.password != nil {
            try check(mosquitto_username_pw_set(handle, configuration.username, configuration.password), "username and password")
        }
        if let tls = configuration.tls {
            try check(mosquitto_tls_set(handle, tls.caFile, nil, tls.certificateFile, tls.keyFile, nil), "TLS files")
        }
        if let will = configuration.will {
            let rc = will.payload.withUnsafeBytes {
                mosquitto_will_set(handle, will.topic, Int32($0.count), $0.baseAddress, 1, will.retain)
            }
            try check(rc, "last will")
        }
    }

    /// Whether the broker has accepted the current connection.
    public var isConnected: Bool { state.withLock { $0.connected } }

    /// Publishes at QoS 1. Throws when not connected (the caller decides whether that matters).
    public func publish(topic: String, payload: [UInt8], retain: Bool = false) throws(MQTTError) {
        let rc = payload.withUnsafeBytes {
            mosquitto_publish(handle, nil, topic, Int32($0.count), $0.baseAddress, 1, retain)
        }
        try check(rc, "publish to \(topic)")
    }

    /// Connects, loops and reconnects until ``stop()``. Call it once.
    public func run() async {
        let alreadyRunning = state.withLock { state in
            defer { state.running = true }
            return state.running
        }
        guard !alreadyRunning else { return }
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            let thread = Thread { [self] in
                connectionLoop()
                done.resume()
            }
            thread.name = "mqtt-\(configuration.clientID)"
            thread.start()
        }
        continuation.finish()
    }

    /// Sends what is queued, disconnects, and ends ``run()``.
    ///
    /// A connected client first unsubscribes and, with `publishingWill`, publishes the configured
    /// will as an ordinary message (a clean `offline`, say); the DISCONNECT waits up to 2 s for the
    /// broker to acknowledge both. Otherwise a message or PUBACK could still be unread when the
    /// socket closes: the kernel then resets the connection, and a broker that sees the reset drops
    /// the DISCONNECT before it and publishes the Last Will as if the client had vanished.
    public func stop(publishingWill: Bool = false) {
        let queued = state.withLock { state -> Bool in
            state.stopping = true
            guard state.connected else { return false }
            for topic in configuration.subscriptions {
                var mid: Int32 = 0
                if mosquitto_unsubscribe(handle, &mid, topic) == MosquittoResult.success.rawValue { state.closingRequests.insert(mid) }
            }
            if publishingWill, let will = configuration.will {
                var mid: Int32 = 0
                let rc = will.payload.withUnsafeBytes {
                    mosquitto_publish(handle, &mid, will.topic, Int32($0.count), $0.baseAddress, 1, will.retain)
                }
                if rc == MosquittoResult.success.rawValue { state.closingRequests.insert(mid) }
            }
            return !state.closingRequests.isEmpty
        }
        // A queued request wakes the loop thread, which disconnects once it is acknowledged;
        // otherwise the DISCONNECT wakes it.
        if !queued { mosquitto_disconnect(handle) }
        wakeup.signal()
    }

    private var stopping: Bool { state.withLock { $0.stopping } }

    private func connectionLoop() {
        var failures = 0
        let timeout = Int32(max(1_000, Int(configuration.keepAliveSeconds) * 500))
        while !stopping {
            let connect = MosquittoResult(
                mosquitto_connect(handle, configuration.host, Int32(configuration.port), configuration.keepAliveSeconds)
            )
            var reason = "cannot connect to \(configuration.host):\(configuration.port): \(describe(connect))" + detail(connect)
            if connect == .success {
                var result = MosquittoResult.success
                while !stopping, result == .success, state.withLock({ $0.refusal == nil }) {
                    result = loopOnce(timeoutMilliseconds: timeout)
                }
                let (refusal, wasConnected) = state.withLock { state in
                    defer {
                        state.refusal = nil
                        state.connected = false
                    }
                    return (state.refusal, state.connected)
                }
                if stopping {
                    disconnectCleanly()
                    break
                }
                mosquitto_disconnect(handle)
                failures = wasConnected ? 0 : failures
                reason = refusal ?? "connection to \(configuration.host):\(configuration.port) lost: \(describe(result))" + detail(result)
            }
            failures += 1
            let delay = backoff(failures)
            continuation.yield(.disconnected(reason: reason, retryIn: delay))
            _ = wakeup.wait(timeout: .now() + delay)
        }
    }

    /// Runs the loop until what ``stop(publishingWill:)`` sent is acknowledged (at most 2 s), then
    /// until the DISCONNECT is written and the socket closed (at most 1 s more).
    private func disconnectCleanly() {
        func loop(until deadline: ContinuousClock.Instant, while condition: () -> Bool) {
            while condition(), ContinuousClock.now < deadline,
                loopOnce(timeoutMilliseconds: 50) == .success
            {}
        }
        loop(until: .now + .seconds(2)) { state.withLock { !$0.closingRequests.isEmpty } }
        state.withLock { $0.closingRequests = [] }
        mosquitto_disconnect(handle)
        loop(until: .now + .seconds(1)) { true }
    }

    private func didConnect(_ rc: Int32) {
        guard rc == 0 else {
            let reason = "the broker refused the connection: " + String(cString: mosquitto_connack_string(rc))
            state.withLock { $0.refusal = reason }
            return
        }
        state.withLock { $0.connected = true }
        // `.connected` waits for the SUBACKs: a pull made on `.connected` then misses nothing, since
        // every notice published after it is delivered. (SUBACKs arrive on this same loop thread,
        // after this callback returns.)
        var pending: Set<Int32> = []
        for topic in configuration.subscriptions {
            var mid: Int32 = 0
            if mosquitto_subscribe(handle, &mid, topic, 1) == MosquittoResult.success.rawValue { pending.insert(mid) }
        }
        state.withLock { $0.pendingSubscriptions = pending }
        if pending.isEmpty { continuation.yield(.connected) }
    }

    private func didSubscribe(_ mid: Int32) {
        let complete = state.withLock { state in
            state.pendingSubscriptions.remove(mid) != nil && state.pendingSubscriptions.isEmpty
        }
        if complete { continuation.yield(.connected) }
    }

    /// `floor · 2^(n-1)`, capped, then scaled by a random factor in [0.5, 1].
    func backoff(_ failures: Int) -> Double {
        let base = min(configuration.backoffCapSeconds, configuration.backoffFloorSeconds * pow(2, Double(min(failures, 30) - 1)))
        return base * Double.random(in: 0.5...1.0)
    }

    /// What libmosquitto logged about a failure, with a hint for TLS: a certificate that does not
    /// chain to the configured CA, or does not name the host, is the usual cause.
    private func detail(_ result: MosquittoResult) -> String {
        let logged = state.withLock { state in
            defer { state.libraryError = nil }
            return state.libraryError
        }
        var text = logged.map { " (\($0))" } ?? ""
        if result == .tls {
            text +=
                "; the broker's certificate must be signed by the CA in \(configuration.tls?.caFile ?? "the CA file") and name \(configuration.host)"
        }
        return text
    }

    private func describe(_ result: MosquittoResult) -> String {
        if result == .errno { return String(cString: strerror(Foundation.errno)) }
        return result.description
    }
}
