// swift-tools-version:6.2
import PackageDescription

let strict: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "egglogu-sync",
    platforms: [.macOS(.v15)],
    products: [],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift.git", exact: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", exact: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", exact: "4.5.2"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", exact: "2.0.1"),
    ],
    targets: [
        .target(name: "EggloguJSON", swiftSettings: strict),
        .target(
            name: "EggloguCore",
            dependencies: ["EggloguJSON", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strict
        ),
        .target(
            name: "EggloguStore",
            dependencies: ["EggloguCore", "EggloguJSON", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "egglogu-agent",
            dependencies: [
                "EggloguStore", "EggloguCore", "EggloguJSON",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "egglogu-bench",
            dependencies: [
                "EggloguStore", "EggloguCore", "EggloguJSON", "EggloguFixtures",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Benchmarks/egglogu-bench",
            swiftSettings: strict
        ),
        .target(name: "EggloguFixtures", dependencies: ["EggloguCore", "EggloguJSON"], swiftSettings: strict),
        .testTarget(name: "EggloguJSONTests", dependencies: ["EggloguJSON"], swiftSettings: strict),
        .target(
            name: "EggloguTestSupport",
            dependencies: [
                "EggloguStore", "EggloguCore", "EggloguJSON", "EggloguFixtures",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            path: "Tests/EggloguTestSupport",
            swiftSettings: strict
        ),
        .testTarget(
            name: "EggloguStoreTests",
            dependencies: [
                "EggloguStore", "EggloguCore", "EggloguJSON", "EggloguFixtures", "EggloguTestSupport",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "EggloguAgentTests",
            dependencies: [
                "egglogu-agent", "EggloguStore", "EggloguCore", "EggloguJSON", "EggloguFixtures", "EggloguTestSupport",
            ],
            swiftSettings: strict
        ),
        .testTarget(name: "EggloguCoreTests", dependencies: ["EggloguCore", "EggloguJSON"], swiftSettings: strict),
    ]
)
