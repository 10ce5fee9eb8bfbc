import EggloguCLI

/// Runs a command body; a failure is printed as `egglogu-agent: message` and exits with its code.
func reportingFailures<T>(_ body: () async throws -> T) async throws -> T {
    try await reportingFailures("egglogu-agent", body)
}
