// swift-tools-version:6.0
// The layers of ../shared/DESIGN.md, bottom up. Each target depends only on
// the layers below it; later layers (core, data plane, store, node, lab, sim)
// take their place beside DMMWire.
import PackageDescription

let package = Package(
    name: "dmm",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "dmm", targets: ["dmm"]),
        .library(name: "DMMWire", targets: ["DMMWire"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // wire: value types and codecs for every message on the wire.
        .target(name: "DMMWire"),
        .executableTarget(
            name: "dmm",
            dependencies: [
                "DMMWire",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "DMMWireTests", dependencies: ["DMMWire"]),
    ],
    swiftLanguageModes: [.v6]
)
