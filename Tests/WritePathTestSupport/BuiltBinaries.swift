import Foundation

/// Where the test targets find the `writepath` binaries they drive: one place instead of a copy
/// per test target.
public enum BuiltBinaries {
    /// The engine `make test` built for containers and guests (`WRITEPATH_ENGINE`), if set.
    public static var environmentEngine: String? {
        guard let e = ProcessInfo.processInfo.environment["WRITEPATH_ENGINE"], !e.isEmpty else { return nil }
        return e
    }

    /// The `writepath` built with the tests: the first executable named so in the test bundle's
    /// folder or up to three folders above it (SwiftPM puts both in `.build/<configuration>`).
    public static var nextToTests: String? {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("writepath").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return nil
    }

    /// `.build/<configuration>/writepath` of this package (`debug` or `release`).
    public static func packageBuild(_ configuration: String) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(".build/\(configuration)/writepath").path
    }

    /// The binary the CLI tests run: the one built with the tests, else the package's debug build.
    public static var writepath: String { nextToTests ?? packageBuild("debug") }

    /// The engine put in containers: `WRITEPATH_ENGINE`, else the one built with the tests.
    public static var containerEngine: String { environmentEngine ?? writepath }
}
