// swift-tools-version:6.1
import PackageDescription

let strict: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "amarre",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "amarre-api", targets: ["amarre-api"]),
        .executable(name: "amarre-host", targets: ["amarre-host"]),
        .executable(name: "amarre-demo-agent", targets: ["amarre-demo-agent"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    ],
    targets: [
        // JSON, one way: the record scanner, the JSONValue tree, the text helpers and the
        // UTF-8 validator. No dependencies, no I/O.
        .target(name: "AmarreJSON", swiftSettings: strict),

        // What amarre-api and amarre-host share: ids, summaries, configuration, the API<->host
        // control messages and errors. No I/O.
        .target(name: "AmarreCore", dependencies: ["AmarreJSON"], swiftSettings: strict),

        // The session core of amarre-host without I/O (`SessionCore`, driven by the host's
        // `Session`): sequencing and framing of records, server records, the permission
        // ledger, adapter dispatch, the agent lifecycle and restart budget.
        .target(name: "AmarreSession", dependencies: ["AmarreCore", "AmarreJSON", "AmarreAgents"], swiftSettings: strict),

        // Agent adapters: pure translation between an agent's own protocol and pi-shaped
        // records (claude-code), and the pi permission gate extension.
        .target(
            name: "AmarreAgents", dependencies: ["AmarreCore", "AmarreJSON"],
            resources: [.copy("Resources/amarre-permission-gate.ts")],
            swiftSettings: strict),

        // Access control: device credentials, pairing codes, the one access decision used by
        // amarre-api and amarre-host alike. The only target that sees swift-crypto.
        .target(
            name: "AmarreAuth",
            dependencies: ["AmarreCore", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strict),

        // Notifications: Web Push (RFC 8291 encryption, RFC 8292 VAPID), Expo, ntfy and
        // webhooks, sent with async-http-client off the relay's event loop.
        .target(
            name: "AmarrePush",
            dependencies: [
                "AmarreCore", "AmarreAuth",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict),

        // Metrics: every target records through swift-metrics; this one holds the Prometheus
        // registry each process bootstraps and renders for `GET /metrics`.
        .target(
            name: "AmarreMetrics",
            dependencies: [
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: strict),

        // The log handler both processes use: one line per event, control characters escaped.
        .target(
            name: "AmarreLogging", dependencies: ["AmarreCore", "AmarreJSON", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict),

        // The durable store: sessions and every record, in SQLite (WAL) through GRDB.
        .target(
            name: "AmarreStore",
            dependencies: [
                "AmarreCore", .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ],
            swiftSettings: strict),

        // The only target that sees libfcgi.
        .systemLibrary(name: "CFastCGI", pkgConfig: "fcgi", providers: [.apt(["libfcgi-dev"])]),

        // epoll for amarre-api's FastCGI threads (a libc header Glibc's module leaves out).
        .systemLibrary(name: "CLinuxEpoll"),

        // fork/exec of an agent in its own process group that dies with the host.
        .target(name: "CAmarreSpawn"),

        .target(
            name: "AmarreAPI",
            dependencies: [
                "AmarreCore", "AmarreAuth", "AmarreStore", "AmarreMetrics", "CFastCGI", "CLinuxEpoll",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ],
            swiftSettings: strict),
        .executableTarget(
            name: "amarre-api",
            dependencies: [
                "AmarreAPI", "AmarreCore", "AmarreLogging", "AmarreMetrics", .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict),

        .target(
            name: "AmarreHost",
            dependencies: [
                "AmarreCore", "AmarreJSON", "AmarreSession", "AmarreAuth", "AmarreAgents", "AmarrePush", "AmarreStore", "AmarreMetrics",
                "CAmarreSpawn",
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict),
        .executableTarget(
            name: "amarre-host",
            dependencies: [
                "AmarreHost", "AmarreCore", "AmarreLogging", "AmarreMetrics",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict),

        .executableTarget(name: "amarre-demo-agent", dependencies: ["AmarreAgents", "AmarreCore", "AmarreJSON"], swiftSettings: strict),

        // Helpers several test targets share (a seeded random generator).
        .target(name: "AmarreTestSupport", path: "Tests/AmarreTestSupport", swiftSettings: strict),
        .testTarget(name: "AmarreJSONTests", dependencies: ["AmarreJSON", "AmarreTestSupport"], swiftSettings: strict),
        .testTarget(
            name: "AmarreCoreTests", dependencies: ["AmarreCore", "AmarreJSON", "AmarreTestSupport"], swiftSettings: strict),
        .testTarget(
            name: "AmarreSessionTests", dependencies: ["AmarreSession", "AmarreCore", "AmarreJSON", "AmarreAgents"],
            swiftSettings: strict),
        .testTarget(name: "AmarreAuthTests", dependencies: ["AmarreAuth", "AmarreCore"], swiftSettings: strict),
        .testTarget(
            name: "AmarrePushTests",
            dependencies: ["AmarrePush", "AmarreAuth", "AmarreCore", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strict),
        .testTarget(
            name: "AmarreLoggingTests",
            dependencies: ["AmarreLogging", .product(name: "Logging", package: "swift-log")], swiftSettings: strict),
        .testTarget(name: "AmarreStoreTests", dependencies: ["AmarreStore", "AmarreCore"], swiftSettings: strict),
        .testTarget(name: "AmarreAgentsTests", dependencies: ["AmarreAgents", "AmarreCore", "AmarreJSON"], swiftSettings: strict),
        .testTarget(
            name: "AmarreAPITests",
            dependencies: ["AmarreAPI", "AmarreAuth", "AmarreCore", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict),
        .testTarget(
            name: "AmarreHostTests",
            dependencies: [
                "AmarreHost", "AmarreAuth", "AmarreCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict),
    ]
)
