import EggloguMQTT

/// How `egglogu-agent run` behaves; every duration is in seconds.
public struct AgentServiceConfiguration: Sendable {
    /// The broker, or nil for poll-only mode.
    public var mqtt: MQTTConfiguration?
    /// How often to poll the server while the broker cannot be reached (±10% jitter).
    public var pollInterval = 30.0
    /// How often to poll while the broker is connected, to catch lost notices.
    public var safetyPollInterval = 900.0
    /// Local writes that follow the first within this window go out together.
    public var pushDebounce = 0.05
    /// Backoff while the server is unreachable: full jitter between 0 and floor·2ⁿ, capped.
    public var serverBackoffFloor = 1.0
    public var serverBackoffCap = 300.0
    /// Beyond this offset from server time, local stamps follow the server's clock.
    public var maxClockSkewMilliseconds: Int64 = 300_000

    public init() {}
}
