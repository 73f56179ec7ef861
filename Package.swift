// swift-tools-version: 6.0
// writepath: a storage write-path benchmarking suite.
//
// Layers of targets, each importing only downward:
//   C modules (CLiburing, CLibaio, CLibblkid, CWritePathShims) -> WritePathEngine -> WritePathReport -> writepath (CLI)
// Benchmarks live in their own package under Benchmarks/ so the main build stays lean.

import PackageDescription


let package = Package(
    name: "writepath",
    products: [
        .executable(name: "writepath", targets: ["writepath"]),
        .library(name: "WritePathEngine", targets: ["WritePathEngine"]),
        // The parsers, for the fuzz targets under Fuzz/ (their own package).
        .library(name: "WritePathRunner", targets: ["WritePathRunner"]),
        .library(name: "WritePathReport", targets: ["WritePathReport"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
    ],
    targets: [
        // MARK: - C modules

        /// liburing 2.x (Debian: liburing-dev). Its static inline helpers import directly.
        .systemLibrary(
            name: "CLiburing",
            pkgConfig: "liburing",
            providers: [.apt(["liburing-dev"])]
        ),
        /// libaio (Debian: libaio-dev).
        .systemLibrary(
            name: "CLibaio",
            providers: [.apt(["libaio-dev"])]
        ),
        /// libblkid (Debian: libblkid-dev): block-device signatures as `blkid -p` finds them.
        .systemLibrary(
            name: "CLibblkid",
            pkgConfig: "blkid",
            providers: [.apt(["libblkid-dev"])]
        ),
        /// Small C shims for macros, ioctls and kernel structs Swift cannot import directly.
        /// The commit each build comes from is written to Sources/CWritePathShims/git_commit.h by
        /// scripts/stamp-commit.sh (make does it before every build); without it: "unknown".
        .target(name: "CWritePathShims"),

        // MARK: - Engine

        .target(
            name: "WritePathEngine",
            dependencies: [
                "CLiburing", "CLibaio", "CLibblkid", "CWritePathShims",
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            swiftSettings: [.unsafeFlags(["-enforce-exclusivity=unchecked"])]
        ),

        // MARK: - Runner and reports

        /// Layers (host, containers, guests) and the matrix runner.
        .target(
            name: "WritePathRunner",
            dependencies: ["WritePathEngine", "WritePathReport", .product(name: "Yams", package: "Yams")]
        ),
        .target(name: "WritePathReport", dependencies: ["WritePathEngine", .product(name: "Histogram", package: "hdrhistogram-swift")]),

        // MARK: - CLI

        .executableTarget(
            name: "writepath",
            dependencies: [
                "WritePathEngine", "WritePathReport", "WritePathRunner",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // MARK: - Tests

        /// What the test targets share: the built binaries, child processes, and the machine's
        /// preconditions with their Swift Testing traits (Precondition.swift).
        .target(name: "WritePathTestSupport", dependencies: ["WritePathRunner"], path: "Tests/WritePathTestSupport"),
        .testTarget(name: "WritePathEngineTests", dependencies: ["WritePathEngine", "WritePathReport", "WritePathTestSupport"]),
        .testTarget(name: "WritePathRunnerTests", dependencies: ["WritePathRunner", "writepath", "WritePathTestSupport"]),
        .testTarget(
            name: "WritePathCLITests",
            dependencies: ["writepath", "WritePathEngine", "WritePathReport", "WritePathRunner", "WritePathTestSupport"]),
        .testTarget(name: "WritePathReportTests", dependencies: ["WritePathReport", "writepath", "WritePathTestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
