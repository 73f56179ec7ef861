// swift-tools-version: 6.0
// libFuzzer targets for writepath's parsers; built and run by scripts/fuzz.sh, not by `swift build`
// of the main package. Each target is an executable whose libFuzzer
// driver (LLVMFuzzerRunDriver, linked by -sanitize=fuzzer) is started from its own `main`.

import PackageDescription

let package = Package(
    name: "writepath-fuzz",
    dependencies: [.package(name: "writepath", path: "..")],
    targets: [
        /// libFuzzer's driver for executables with their own main.
        .target(name: "FuzzSupport"),
        /// fio job files: FioJobFile.parse.
        .executableTarget(
            name: "FuzzJobFile",
            dependencies: ["FuzzSupport", .product(name: "WritePathEngine", package: "writepath")]),
        /// Matrix YAML: MatrixSpec.parse (Yams, layer parameters, workload options).
        .executableTarget(
            name: "FuzzMatrix",
            dependencies: ["FuzzSupport", .product(name: "WritePathRunner", package: "writepath")]),
        /// Result files: JSONFormat.parse (WritePathResult), as report and compare read them.
        .executableTarget(
            name: "FuzzResult",
            dependencies: [
                "FuzzSupport",
                .product(name: "WritePathReport", package: "writepath"),
                .product(name: "WritePathResult", package: "writepath"),
                .product(name: "WritePathEngine", package: "writepath"),
            ]),
    ],
    swiftLanguageModes: [.v6]
)
