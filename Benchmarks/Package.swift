// swift-tools-version: 6.1
// Microbenchmarks of writepath's engine, with ordo-one's Benchmark package.
// Its own package so that the main build does not fetch or build the benchmark tooling.
// Run: cd Benchmarks && swift package benchmark   (see README.md)

import PackageDescription

let package = Package(
    name: "WritePathBenchmarks",
    dependencies: [
        .package(name: "writepath", path: ".."),
        // Only the MallocInterposer trait: on Linux with Swift 6.3 the default traits also pull in
        // ordo-one/swift-runtime-interposer, which this machine's package copies do not hold.
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "WritePathBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "WritePathEngine", package: "writepath"),
            ],
            path: "WritePathBenchmarks",
            plugins: [
                .plugin(name: "BenchmarkPlugin", package: "benchmark"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
