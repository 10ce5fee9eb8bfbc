// swift-tools-version:6.2
import PackageDescription

let strict: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
]

/// `scripts/fuzz` builds with EGGLOGU_FUZZ_RUNTIME naming libFuzzer's archive without its `main`:
/// the parsing modules get libFuzzer's coverage instrumentation and `egglogu-fuzz` runs the driver.
let fuzzRuntime = Context.environment["EGGLOGU_FUZZ_RUNTIME"].flatMap { $0.isEmpty ? nil : $0 }
let fuzzed: [SwiftSetting] = strict + (fuzzRuntime == nil ? [] : [.unsafeFlags(["-sanitize=fuzzer"])])

let package = Package(
    name: "egglogu-sync",
    platforms: [.macOS(.v15)],
    products: [],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift.git", exact: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", exact: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", exact: "4.5.2"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", exact: "2.0.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", exact: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", exact: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", exact: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", exact: "2.4.1"),
        .package(url: "https://github.com/vapor/jwt-kit.git", exact: "5.8.0"),
        .package(url: "https://github.com/apple/swift-log.git", exact: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio.git", exact: "2.101.3"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", exact: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", exact: "1.35.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", exact: "1.8.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", exact: "1.33.2"),
    ],
    targets: [
        .target(name: "EggloguJSON", swiftSettings: fuzzed),
        .target(
            name: "EggloguHTTP",
            dependencies: [
                "EggloguJSON", .product(name: "Hummingbird", package: "hummingbird"), .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        .target(name: "EggloguSettings", dependencies: ["EggloguJSON"], swiftSettings: strict),
        .target(
            name: "EggloguProvisioning",
            dependencies: [.product(name: "Crypto", package: "swift-crypto"), .product(name: "CryptoExtras", package: "swift-crypto")],
            swiftSettings: strict
        ),
        .target(
            name: "EggloguSystemd",
            dependencies: [
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "EggloguCore",
            dependencies: ["EggloguJSON", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: fuzzed
        ),
        .target(
            name: "EggloguStore",
            dependencies: ["EggloguCore", "EggloguJSON", "CEggloguSQLite", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: strict
        ),
        .target(
            name: "EggloguPostgres",
            dependencies: [
                "EggloguStore", "EggloguCore", "EggloguJSON",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .target(name: "CEggloguSQLite", path: "Sources/CEggloguSQLite", linkerSettings: [.linkedLibrary("sqlite3")]),
        .target(
            name: "EggloguCLI",
            dependencies: ["EggloguStore", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "egglogu-agent",
            dependencies: [
                "EggloguCLI", "EggloguStore", "EggloguCore", "EggloguJSON", "EggloguAgentSync", "EggloguSyncClient", "EggloguProtocol",
                "EggloguAgentService", "EggloguAgentWeb", "EggloguMQTT", "EggloguSettings", "EggloguSystemd",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "egglogu-sync-server",
            dependencies: [
                "EggloguCLI", "EggloguServer", "EggloguStore", "EggloguMQTT", "EggloguProtocol", "EggloguSettings", "EggloguSystemd",
                "EggloguProvisioning", "EggloguPostgres",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "egglogu-bench",
            dependencies: [
                "EggloguStore", "EggloguCore", "EggloguJSON", "EggloguFixtures", "EggloguProtocol", "EggloguMQTT",
                "EggloguAgentWeb", "EggloguAgentService", "EggloguAppEmulator", "EggloguTestSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            path: "Benchmarks/egglogu-bench",
            swiftSettings: strict
        ),
        .systemLibrary(
            name: "CMosquitto",
            path: "Sources/CMosquitto",
            pkgConfig: "libmosquitto",
            providers: [.apt(["libmosquitto-dev"])]
        ),
        .target(name: "EggloguMQTT", dependencies: ["CMosquitto"], swiftSettings: strict),
        .target(
            name: "EggloguProtocol",
            dependencies: ["EggloguCore", "EggloguJSON"],
            swiftSettings: fuzzed
        ),
        .target(name: "EggloguFuzzing", dependencies: ["EggloguCore", "EggloguJSON", "EggloguProtocol"], swiftSettings: fuzzed),
        .executableTarget(
            name: "egglogu-fuzz",
            dependencies: ["EggloguFuzzing"],
            swiftSettings: fuzzed + (fuzzRuntime == nil ? [] : [.define("FUZZING")]),
            linkerSettings: fuzzRuntime.map { [.unsafeFlags(["-Xlinker", $0, "-lstdc++"])] } ?? []
        ),
        .target(
            name: "EggloguSyncClient",
            dependencies: [
                "EggloguProtocol", "EggloguJSON",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "EggloguAgentSync",
            dependencies: ["EggloguStore", "EggloguProtocol", "EggloguJSON", "EggloguCore"],
            swiftSettings: strict
        ),
        .target(
            name: "EggloguAgentService",
            dependencies: [
                "EggloguAgentSync", "EggloguMQTT", "EggloguStore", "EggloguProtocol", "EggloguCore", "EggloguJSON",
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "EggloguServer",
            dependencies: [
                "EggloguStore", "EggloguCore", "EggloguJSON", "EggloguProtocol", "EggloguHTTP",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "EggloguAgentWeb",
            dependencies: [
                "EggloguAgentService", "EggloguStore", "EggloguCore", "EggloguJSON", "EggloguHTTP",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            resources: [.embedInCode("Assets/index.html"), .embedInCode("Assets/app.js"), .embedInCode("Assets/app.css")],
            swiftSettings: strict
        ),
        .target(name: "EggloguFixtures", dependencies: ["EggloguCore", "EggloguJSON"], swiftSettings: strict),
        .testTarget(name: "EggloguJSONTests", dependencies: ["EggloguJSON", "EggloguTestTraits"], swiftSettings: strict),
        .testTarget(
            name: "EggloguFuzzingTests",
            dependencies: ["EggloguFixtures", "EggloguFuzzing", "EggloguTestTraits"],
            swiftSettings: strict
        ),
        .target(
            name: "EggloguTestSupport",
            dependencies: [
                "EggloguStore", "EggloguCore", "EggloguJSON", "EggloguFixtures", "EggloguServer", "EggloguAgentSync", "EggloguProtocol",
                "EggloguPostgres",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/EggloguTestSupport",
            swiftSettings: strict
        ),
        .target(name: "EggloguTestTraits", path: "Tests/EggloguTestTraits", swiftSettings: strict),
        .target(
            name: "EggloguAppEmulator",
            dependencies: [
                "EggloguJSON", "EggloguTestSupport", .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Tests/EggloguAppEmulator",
            swiftSettings: strict
        ),
        .testTarget(
            name: "EggloguStoreTests",
            dependencies: [
                "EggloguStore", "EggloguCore", "EggloguJSON", "EggloguFixtures", "EggloguTestSupport", "EggloguTestTraits",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "EggloguAgentTests",
            dependencies: [
                "egglogu-agent", "EggloguCLI", "EggloguStore", "EggloguCore", "EggloguJSON", "EggloguFixtures", "EggloguTestSupport",
                "EggloguTestTraits",
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "EggloguServerTests",
            dependencies: [
                "EggloguServer", "EggloguHTTP", "EggloguAgentSync", "EggloguSyncClient", "EggloguStore", "EggloguCore", "EggloguJSON",
                "EggloguProtocol", "EggloguFixtures", "EggloguTestSupport", "EggloguTestTraits", "EggloguAppEmulator", "egglogu-sync-server",
                "egglogu-agent", "EggloguPostgres",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "EggloguMQTTTests",
            dependencies: ["EggloguMQTT", "EggloguTestSupport", "EggloguTestTraits", "egglogu-bench"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "EggloguAgentServiceTests",
            dependencies: [
                "EggloguAgentService", "EggloguAgentSync", "EggloguProtocol", "EggloguCore", "EggloguJSON", "EggloguStore", "EggloguTestSupport",
                "EggloguTestTraits", .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "EggloguRealtimeTests",
            dependencies: [
                "EggloguAppEmulator", "EggloguCore", "EggloguFixtures", "EggloguJSON", "EggloguMQTT", "EggloguStore", "EggloguTestSupport",
                "EggloguTestTraits",
                "egglogu-agent", "egglogu-sync-server",
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "EggloguDeployTests",
            dependencies: [
                "EggloguSystemd", "EggloguSettings", "EggloguProvisioning", "EggloguMQTT", "EggloguTestSupport", "EggloguTestTraits",
                "egglogu-agent", "egglogu-sync-server",
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "EggloguWebTests",
            dependencies: [
                "EggloguAgentWeb", "EggloguAgentService", "EggloguStore", "EggloguCore", "EggloguJSON", "EggloguTestSupport", "EggloguTestTraits",
                "egglogu-agent", "egglogu-sync-server",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "EggloguSyncTests",
            dependencies: [
                "EggloguAgentSync", "EggloguCore", "EggloguJSON", "EggloguProtocol", "EggloguServer", "EggloguStore", "EggloguTestSupport",
                "EggloguTestTraits", .product(name: "PropertyBased", package: "swift-property-based"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .testTarget(name: "EggloguCoreTests", dependencies: ["EggloguCore", "EggloguJSON", "EggloguTestTraits"], swiftSettings: strict),
    ]
)
