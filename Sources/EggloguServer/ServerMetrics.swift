import Prometheus

/// The server's Prometheus metrics: requests by outcome, records merged and rejected, conflicts, head sequence per farm.
public struct ServerMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()

    public init() {}

    private static func name(_ metric: String, unit: String = "", _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "egglogu", subsystem: "sync", metricName: metric, unitName: unit, helpText: help)
    }

    func request(endpoint: String, status: Int) {
        let outcome =
            switch status {
            case 200..<300: "ok"
            case 401: "unauthorized"
            case 403: "forbidden"
            case 410: "resync-required"
            case 413: "too-large"
            case 400..<500: "client-error"
            default: "server-error"
            }
        registry.makeCounter(
            descriptor: Self.name("requests", unit: "total", "HTTP requests by endpoint and outcome"),
            labels: [("endpoint", endpoint), ("outcome", outcome)]
        ).increment()
    }

    func merged(farm: String, accepted: Int, rejected: Int, conflicts: Int, head: Int64) {
        registry.makeCounter(descriptor: Self.name("records_merged", unit: "total", "Pushed records merged"))
            .increment(by: Int64(accepted))
        registry.makeCounter(descriptor: Self.name("records_rejected", unit: "total", "Pushed records refused or superseded"))
            .increment(by: Int64(rejected))
        registry.makeCounter(descriptor: Self.name("conflicts", unit: "total", "Conflict-archive entries filed"))
            .increment(by: Int64(conflicts))
        registry.makeGauge(descriptor: Self.name("head_sequence", "Newest change sequence per farm"), labels: [("farm", farm)])
            .set(Double(head))
    }

    /// The metrics in Prometheus text format.
    public func render() -> [UInt8] {
        registry.emitToBuffer()
    }
}
