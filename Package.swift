// swift-tools-version:6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "turnstile",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "turnstile", targets: ["turnstile"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-nio-http2.git", from: "1.46.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1", traits: []),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/vapor/sqlite-nio.git", from: "1.13.2"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/swiftcsv/SwiftCSV.git", from: "0.10.0"),
    ],
    targets: [
        // Pure domain: no I/O, no async, no NIO. Everything depends on it.
        .target(
            name: "TurnstileCore",
            swiftSettings: swiftSettings
        ),
        // The storage port, the group-commit writer loop and an in-memory double.
        .target(
            name: "TurnstileStore",
            dependencies: [
                "TurnstileCore",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // The SQL both stores run: the batch's reads and writes, and every read, over a small session protocol.
        .target(
            name: "TurnstileSQL",
            dependencies: [
                "TurnstileCore",
                "TurnstileStore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "TurnstileSQLite",
            dependencies: [
                "TurnstileCore",
                "TurnstileSQL",
                "TurnstileStore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOPosix", package: "swift-nio"),
                // For its VaporCSQLite module, SQLite's C API (the amalgamation compiled in), which the adapter calls
                // directly: sqlite-nio does not offer that module as a product of its own.
                .product(name: "SQLiteNIO", package: "sqlite-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // The shared store on PostgreSQL, for several instances behind a load balancer.
        .target(
            name: "TurnstilePostgres",
            dependencies: [
                "TurnstileCore",
                "TurnstileSQL",
                "TurnstileStore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // The API's wire shapes: the Codable request bodies and responses the server answers with and the engine
        // sends and reads, so a field cannot differ between them. Foundation only.
        .target(
            name: "TurnstileWire",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "TurnstileServer",
            dependencies: [
                "TurnstileCore",
                "TurnstileStore",
                "TurnstileWire",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdHTTP2", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "X509", package: "swift-certificates"),
            ],
            swiftSettings: swiftSettings
        ),
        // The report model (Codable, mergeable) and its renderers.
        .target(
            name: "TurnstileReport",
            dependencies: [
                .product(name: "Histogram", package: "hdrhistogram-swift")
            ],
            swiftSettings: swiftSettings
        ),
        // The stress engine: an HTTP/1.1 and HTTP/2 client on NIO's codecs (TLS through swift-nio-ssl), executors,
        // suites, invariant checks.
        // It talks to any target over the network and never imports the server.
        .target(
            name: "TurnstileLoad",
            dependencies: [
                "TurnstileReport",
                "TurnstileWire",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "SwiftCSV", package: "SwiftCSV"),
                // Yams also brings CYaml, libyaml's events, which the scenario screen reads before Yams builds a tree.
                .product(name: "Yams", package: "Yams"),
            ],
            // The built-in suites' scenarios, compiled into the binary; `Scenarios` links to the repository's
            // `scenarios/` folder, so the files users read are the ones that run.
            resources: [
                .embedInCode("Scenarios/bids.yaml"),
                .embedInCode("Scenarios/credits.yaml"),
                .embedInCode("Scenarios/crash.yaml"),
                .embedInCode("Scenarios/faults.yaml"),
                .embedInCode("Scenarios/edge.yaml"),
                .embedInCode("Scenarios/fanout.yaml"),
                .embedInCode("Scenarios/mixed.yaml"),
                .embedInCode("Scenarios/throughput.yaml"),
                .embedInCode("Scenarios/orders-lifecycle.yaml"),
                .embedInCode("Scenarios/orders.yaml"),
                .embedInCode("Scenarios/race.yaml"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "turnstile",
            dependencies: [
                "TurnstileCore",
                "TurnstileLoad",
                "TurnstilePostgres",
                "TurnstileReport",
                "TurnstileSQLite",
                "TurnstileServer",
                "TurnstileStore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // Shared by the test targets: a live server on an ephemeral port and a barrier HTTP client.
        // libFuzzer's driver, called from the fuzz program's own main when it is built for fuzzing (.ci/fuzz.sh).
        .target(name: "CFuzzDriver"),
        // The engine's parsers under libFuzzer; built plainly, it replays inputs (see Sources/TurnstileFuzz).
        .executableTarget(
            name: "TurnstileFuzz",
            dependencies: [
                "CFuzzDriver",
                "TurnstileLoad",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "SwiftCSV", package: "SwiftCSV"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "TurnstileTestSupport",
            dependencies: [
                "TurnstileCore",
                "TurnstileLoad",
                "TurnstilePostgres",
                "TurnstileSQLite",
                "TurnstileReport",
                "TurnstileServer",
                "TurnstileStore",
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Tests/TurnstileTestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TurnstileCoreTests",
            dependencies: ["TurnstileCore"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TurnstileStoreTests",
            dependencies: ["TurnstileCore", "TurnstileStore"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TurnstileSQLiteTests",
            dependencies: [
                "TurnstileCore",
                "TurnstileSQL",
                "TurnstileSQLite",
                "TurnstileStore",
                .product(name: "SQLiteNIO", package: "sqlite-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // The storage contract, against SQLite and (when a server is configured) PostgreSQL alike.
        .testTarget(
            name: "TurnstileStoreContractTests",
            dependencies: [
                "TurnstileCore",
                "TurnstilePostgres",
                "TurnstileSQL",
                "TurnstileSQLite",
                "TurnstileStore",
                "TurnstileTestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TurnstileServerTests",
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto"),
                "TurnstileCore",
                "TurnstileLoad",
                "TurnstileServer",
                "TurnstileSQLite",
                "TurnstileStore",
                "TurnstileTestSupport",
                "TurnstileWire",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "SQLiteNIO", package: "sqlite-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TurnstileReportTests",
            dependencies: ["TurnstileReport", .product(name: "SwiftCSV", package: "SwiftCSV")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TurnstileLoadTests",
            dependencies: [
                "TurnstileLoad",
                "TurnstileReport",
                "TurnstileServer",
                "TurnstileTestSupport",
                "TurnstileWire",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "turnstileTests",
            dependencies: [
                "turnstile",
                "TurnstileCore",
                "TurnstileLoad",
                "TurnstileReport",
                "TurnstileSQLite",
                "TurnstileStore",
                "TurnstileTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "SwiftCSV", package: "SwiftCSV"),
                "TurnstileServer",
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
