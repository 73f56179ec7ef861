// swift-tools-version: 6.0
// writepath: a storage write-path benchmarking suite.
//
// Layers of targets, each importing only downward (A <- B: B imports A):
//   C modules (CLiburing, CLibaio, CLibblkid, CWritePathShims) <- WritePathEngine <- WritePathResult
//     <- WritePathRunner and WritePathReport <- writepath (CLI)
// Runner and reporter do not import each other. The engine measures and owns the records of a
// measurement (`RunMeasurement`, its directions with latency summaries and encoded histograms,
// next to `LatencyHistogram`, which writes them); WritePathResult wraps a measurement into a run
// of a layer and owns the document. The schema is above the engine, not below it, because a run
// records the engine's own types (`Workload`, `TargetInfo`, `VerifyResult`, `Durability`).
// Benchmarks/ and Fuzz/ are packages of their own that use the libraries, so the main build stays lean.

import PackageDescription

let package = Package(
    name: "writepath",
    products: [
        .executable(name: "writepath", targets: ["writepath"]),
        .library(name: "WritePathEngine", targets: ["WritePathEngine"]),
        .library(name: "WritePathResult", targets: ["WritePathResult"]),
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

        /// Workloads and fio job files, targets, one I/O engine per file, the job loop, and what a
        /// run measured (`RunMeasurement`). Nothing about layers, repetitions, documents or output.
        .target(
            name: "WritePathEngine",
            dependencies: [
                "CLiburing", "CLibaio", "CLibblkid", "CWritePathShims",
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            swiftSettings: [.unsafeFlags(["-enforce-exclusivity=unchecked"])]
        ),

        // MARK: - Result schema

        /// The `writepath.result/1` document: runs (a measurement, its layer, repetition, typed
        /// status and sweep tag), matrix and sweep records, sweep steps, JSON encoding and decoding,
        /// reading result files (`ResultInput`, `FioImport`), and the statistics both the runner and
        /// the reports need. No running, no rendering beyond JSON.
        .target(name: "WritePathResult", dependencies: ["WritePathEngine"]),

        // MARK: - Runner and reports

        /// Layers (host, containers, guests), child processes, and the matrix and sweep runners with
        /// their stop rules. No output formats: it writes results only as JSON.
        /// The guests' scripts (init, dom0 init, block hotplug) are files under Resources/, checked
        /// by shellcheck, copied beside the binary (`writepath_WritePathRunner.resources`).
        .target(
            name: "WritePathRunner",
            dependencies: ["WritePathEngine", "WritePathResult", .product(name: "Yams", package: "Yams")],
            resources: [
                .copy("Resources/guest-init.sh"), .copy("Resources/xen-dom0-init.sh"), .copy("Resources/xen-block-hotplug.sh"),
                .copy("Resources/swarm-task.sh"),
            ]
        ),
        /// One output format per file (text, CSV, Markdown, HTML, JUnit, Prometheus, .hgrm),
        /// comparisons, aggregation and capacity analysis of results. Runs nothing.
        .target(
            name: "WritePathReport",
            dependencies: ["WritePathEngine", "WritePathResult", .product(name: "Histogram", package: "hdrhistogram-swift")]),

        // MARK: - CLI

        /// The command line: parses arguments, calls the runner and the reports, sets exit codes.
        .executableTarget(
            name: "writepath",
            dependencies: [
                "WritePathEngine", "WritePathResult", "WritePathReport", "WritePathRunner",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // MARK: - Tests

        /// What the test targets share: the built binaries, child processes, and the machine's
        /// preconditions with their Swift Testing traits (Precondition.swift).
        .target(name: "WritePathTestSupport", dependencies: ["WritePathRunner"], path: "Tests/WritePathTestSupport"),
        .testTarget(
            name: "WritePathEngineTests", dependencies: ["WritePathEngine", "WritePathResult", "WritePathReport", "WritePathTestSupport"]),
        .testTarget(
            name: "WritePathRunnerTests",
            dependencies: [
                "WritePathResult", "WritePathRunner", "writepath", "WritePathTestSupport", .product(name: "Yams", package: "Yams"),
            ]),
        .testTarget(
            name: "WritePathCLITests",
            dependencies: [
                "writepath", "WritePathEngine", "WritePathResult", "WritePathReport", "WritePathRunner", "WritePathTestSupport",
            ]),
        .testTarget(
            name: "WritePathReportTests",
            dependencies: ["WritePathResult", "WritePathReport", "WritePathRunner", "writepath", "WritePathTestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
