// swift-tools-version:6.0
// The layers of ../shared/DESIGN.md, bottom up. Each target depends only on
// the layers below it; later layers (core, data plane, store, node, lab, sim)
// take their place beside DMMWire.
import PackageDescription

/// Release builds of the wire and core layers: their code is inlined into
/// the layers above (their small value types, rules, IEs and addresses, are
/// built and compared in every engine step, and a call across modules costs
/// more than the work), and the run-time exclusivity check on class
/// properties is left out (a PFCP message's IE groups live in a box that is
/// written only when uniquely referenced; the compile-time checks remain).
/// See BENCHMARKS.md, `dmm bench controller`.
let engineSettings: [SwiftSetting] = [
    .unsafeFlags(["-cross-module-optimization", "-enforce-exclusivity=unchecked"], .when(configuration: .release)),
]

let package = Package(
    name: "dmm",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "dmm", targets: ["dmm"]),
        .library(name: "DMMWire", targets: ["DMMWire"]),
        .library(name: "DMMCore", targets: ["DMMCore"]),
        .library(name: "DMMDataPlane", targets: ["DMMDataPlane"]),
        .library(name: "DMMLinux", targets: ["DMMLinux"]),
        .library(name: "DMMStore", targets: ["DMMStore"]),
        .library(name: "DMMNode", targets: ["DMMNode"]),
        .library(name: "DMMLab", targets: ["DMMLab"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.0"),
    ],
    targets: [
        // wire: value types and codecs for every message on the wire.
        .target(name: "DMMWire", swiftSettings: engineSettings),
        // core: the protocol engines, pure state machines with an explicit clock.
        .target(name: "DMMCore", dependencies: ["DMMWire"], swiftSettings: engineSettings),
        // data plane: drivers that make forwarding rules true; here the
        // in-memory network model that traces packets.
        .target(name: "DMMDataPlane", dependencies: ["DMMCore"]),
        // The kernel's netlink headers, for the Linux data plane.
        .target(name: "CNetlink"),
        // IPv6 raw-socket calls with ancillary data (RFC 3542).
        .target(name: "CSockets"),
        // Child processes that die with the thread that started them.
        .target(name: "CProcess"),
        // nftables' library (the MAR's connection-tracking table), as Debian ships it.
        .systemLibrary(name: "CNftables", pkgConfig: "libnftables", providers: [.apt(["libnftables-dev"])]),
        // data plane: the Linux driver, through rtnetlink.
        .target(name: "DMMLinux", dependencies: ["DMMCore", "DMMDataPlane", "CNetlink", "CSockets", "CNftables", "CProcess"]),
        // store: the location store in SQLite (the system library).
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .target(name: "DMMStore", dependencies: ["DMMCore", "CSQLite"]),
        // node: the daemons, wiring engines to sockets, netlink, the store,
        // timers, configuration, logs and metrics.
        // lab: namespace testbeds, scenarios, traffic, reports.
        .target(name: "DMMLab", dependencies: ["DMMNode", "DMMLinux"], resources: [.copy("demo.yaml"), .copy("star.yaml"), .copy("pair.yaml"), .copy("tree.yaml")]),
        .target(name: "DMMNode", dependencies: [
            "DMMCore", "DMMDataPlane", "DMMLinux", "DMMStore", .product(name: "Yams", package: "Yams"),
            .product(name: "Logging", package: "swift-log"), .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ]),
        .executableTarget(
            name: "dmm",
            dependencies: [
                "DMMWire", "DMMCore", "DMMDataPlane", "DMMLinux", "CNetlink", "DMMNode", "DMMLab",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "DMMWireTests", dependencies: ["DMMWire", "DMMLinux", "DMMTestSupport"]),
        .testTarget(name: "DMMCoreTests", dependencies: ["DMMCore", "DMMDataPlane", "DMMTestSupport"]),
        // Network namespaces for the tests that need a kernel.
        .target(name: "DMMTestSupport", dependencies: ["DMMLinux"], path: "Tests/DMMTestSupport"),
        .testTarget(name: "DMMLinuxTests", dependencies: ["DMMLinux", "DMMDataPlane", "DMMTestSupport"]),
        .testTarget(name: "DMMStoreTests", dependencies: ["DMMStore"]),
        .testTarget(name: "DMMNodeTests", dependencies: ["DMMNode", "DMMTestSupport"]),
        .testTarget(name: "DMMLabTests", dependencies: ["DMMLab", "DMMTestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
