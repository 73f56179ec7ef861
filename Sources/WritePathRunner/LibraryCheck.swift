import Foundation
import WritePathEngine

/// A shared library that a binary a layer copies into its image needs and the loader cannot find
/// (ldd's `not found`), with the package that provides it, as far as this machine can tell.
public struct MissingLibrary: Sendable, Equatable, CustomStringConvertible {
    /// The library's name as the binary asks for it (`libyajl.so.2`).
    public var library: String
    /// The binary that needs it.
    public var binary: String
    /// Which package provides it: `package libyajl2` (dpkg -S on this machine, or the package
    /// whose unpacked files hold it in a package tree), or `not in any installed package`.
    public var provider: String
    /// The package the binary itself comes from, when known (its dependencies should bring `library`).
    public var binaryPackage: String?

    public var description: String {
        "\(library) (needed by \(binary)\(binaryPackage.map { ", from package \($0)" } ?? "")): \(provider)"
    }
}

/// ldd over the binaries a layer copies, so that a missing library makes the layer unavailable
/// with its name and package, before an image is built without it.
public enum LibraryCheck {
    /// The library names that `ldd` output reports `not found`.
    static func notFound(inLdd output: String) -> [String] {
        output.split(separator: "\n").compactMap { line in
            let parts = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard parts.count >= 4, parts[1] == "=>", parts[2] == "not", parts[3] == "found" else { return nil }
            return parts[0]
        }
    }

    /// The libraries `binary` needs that the loader does not find, with `libraryPath` folders
    /// searched first (LD_LIBRARY_PATH, as the images lay out a package tree). A static binary, or
    /// one ldd cannot read, has none (`EngineRootfs.sharedLibraries` reports an ldd failure).
    /// `tree`: a package tree (`XenPackages`) whose per-package file lists name providers.
    public static func missing(binary: String, libraryPath: [String] = [], tree: String? = nil) -> [MissingLibrary] {
        var environment = ["LC_ALL=C"]
        if !libraryPath.isEmpty { environment.append("LD_LIBRARY_PATH=\(libraryPath.joined(separator: ":"))") }
        guard let r = try? Command.run("/usr/bin/env", environment + ["ldd", binary], timeout: 60) else { return [] }
        let names = notFound(inLdd: r.stdout)
        guard !names.isEmpty else { return [] }
        let binaryPackage = tree.flatMap { treePackage(holding: binary, tree: $0) } ?? hostPackage(holding: binary)
        return names.map { name in
            MissingLibrary(library: name, binary: binary, provider: provider(of: name, tree: tree), binaryPackage: binaryPackage)
        }
    }

    /// Which package provides library `name`: the package tree's lists first (a file its
    /// package should have unpacked), then dpkg -S over this machine's installed packages.
    static func provider(of name: String, tree: String?) -> String {
        if let tree, let p = treePackage(holding: name, tree: tree) {
            return "package \(p) holds it in the unpacked tree's file lists, but the file is gone: the tree is damaged"
        }
        if let p = hostPackage(holding: name) {
            return "package \(p) (installed) has it, but not where the loader looks"
        }
        return "not in any installed package"
    }

    /// The installed package owning a file whose path ends in `/name` (or is `name`), by dpkg -S.
    static func hostPackage(holding name: String) -> String? {
        let pattern = name.hasPrefix("/") ? name : "*/\(name)"
        guard let r = try? Command.run("dpkg", ["-S", pattern], timeout: 30), r.succeeded,
            let line = r.stdout.split(separator: "\n").first, let colon = line.firstIndex(of: ":")
        else { return nil }
        return String(line[..<colon]).split(separator: ",").first.map { String($0).trimmingCharacters(in: .whitespaces) }
    }

    /// The folder beside a package tree's `root` that holds one `<package>.list` per unpacked
    /// package (`dpkg-deb -c`'s paths, `./usr/...`).
    public static func listsFolder(ofTree root: String) -> String { (root as NSString).deletingLastPathComponent + "/files" }

    /// The unpacked package whose file list holds `name` (a path inside or below `tree`, or a file
    /// name), by the lists in `listsFolder(ofTree:)`.
    static func treePackage(holding name: String, tree: String) -> String? {
        let folder = listsFolder(ofTree: tree)
        let inside = name.hasPrefix(tree + "/") ? "." + name.dropFirst(tree.count) : nil
        for file in ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted() where file.hasSuffix(".list") {
            guard let text = try? String(contentsOfFile: "\(folder)/\(file)", encoding: .utf8) else { continue }
            let hit = text.split(separator: "\n").contains { entry in
                if let inside { return entry == inside }
                return entry.hasSuffix("/\(name)")
            }
            if hit { return String(file.dropLast(".list".count)) }
        }
        return nil
    }

    /// The layer is unavailable when any library is missing: which, needed by what, and its
    /// package; nil when every library resolves.
    public static func unavailability(_ missing: [MissingLibrary], what: String, fix: String) -> Availability? {
        guard !missing.isEmpty else { return nil }
        let list = missing.map(\.description).joined(separator: "; ")
        return .unavailable(reason: "\(what): a shared library is not found (ldd): \(list)", fix: fix)
    }

    /// The engine binary placed in containers and guests: unavailable when it links a library
    /// that is missing here (the image would be built without it).
    public static func engineUnavailability(_ binary: String = EngineRootfs.defaultEngineBinary()) -> Availability? {
        guard FileManager.default.isExecutableFile(atPath: binary) else { return nil }
        return unavailability(
            missing(binary: binary), what: "the engine \(binary)",
            fix: "install the package named (apt-get install), or build the engine with --static-swift-stdlib (make release)")
    }
}
