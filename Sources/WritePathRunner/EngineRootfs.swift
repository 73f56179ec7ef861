import Foundation
import WritePathEngine

/// A minimal root filesystem holding the `writepath` binary and the shared libraries it links
/// (from ldd), for containers and guests: no registry, no base image.
public enum EngineRootfs {
    /// The writepath binary this process would place in a layer: `WRITEPATH_ENGINE` if set, else
    /// this executable when it is writepath, else `.build/release/writepath` or `.build/debug/writepath`
    /// below the current folder.
    public static func defaultEngineBinary() -> String {
        if let e = ProcessInfo.processInfo.environment["WRITEPATH_ENGINE"], !e.isEmpty { return e }
        let me = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        if (me as NSString).lastPathComponent == "writepath" { return me }
        for candidate in [".build/release/writepath", ".build/debug/writepath"]
        where FileManager.default.isExecutableFile(atPath: candidate) {
            return FileManager.default.currentDirectoryPath + "/" + candidate
        }
        return me
    }

    /// The first 16 hex digits of the SHA-256 of `binary` (sha256sum), naming images by content.
    public static func contentHash(of binary: String) throws -> String {
        let r = try Command.run("sha256sum", [binary], timeout: 60)
        guard r.succeeded, let h = r.stdout.split(separator: " ").first, h.count >= 16 else {
            throw WritePathError.system(call: "sha256sum", path: binary, errno: EIO, hint: r.stderrTail())
        }
        return String(h.prefix(16))
    }

    /// The shared libraries `binary` links, as absolute paths (ldd), the loader included. A
    /// library ldd does not find is an error naming it and its package (`LibraryCheck`).
    public static func sharedLibraries(of binary: String) throws -> [String] {
        let r = try Command.run("ldd", [binary], timeout: 60)
        guard r.succeeded else {
            throw WritePathError.system(call: "ldd", path: binary, errno: EIO, hint: r.stderrTail())
        }
        if !LibraryCheck.notFound(inLdd: r.stdout).isEmpty {
            let missing = LibraryCheck.missing(binary: binary).map(\.description).joined(separator: "; ")
            throw WritePathError.system(call: "ldd", path: binary, errno: ENOENT, hint: "a shared library is not found: \(missing)")
        }
        return librariesListed(byLdd: r.stdout)
    }

    /// The absolute library paths in `ldd` output: the target of each `name => /path` line and
    /// each line that starts with a path (the loader).
    static func librariesListed(byLdd output: String) -> [String] {
        var libs: [String] = []
        for line in output.split(separator: "\n") {
            let parts = line.split(separator: " ").map(String.init)
            if let arrow = parts.firstIndex(of: "=>"), arrow + 1 < parts.count, parts[arrow + 1].hasPrefix("/") {
                libs.append(parts[arrow + 1])
            } else if let first = parts.first?.trimmingCharacters(in: .whitespaces), first.hasPrefix("/") {
                libs.append(first)
            }
        }
        return libs
    }

    /// What names a root filesystem by content: the engine's hash, and with `fio` fio's as well
    /// (`0123456789abcdef-fio0123456789ab`), so a new fio makes a new image as a new engine does.
    public static func contentKey(binary: String, fio: String?) throws -> String {
        let engine = try contentHash(of: binary)
        guard let fio else { return engine }
        return "\(engine)-fio\(try contentHash(of: fio).prefix(12))"
    }

    /// Fills `directory` with `/writepath`, with `fio` also `/fio` (`FioEngine.pathInContainer`),
    /// their libraries at their own paths, and empty `/tmp`, `/wp`, `/data`, `/proc`, `/sys`,
    /// `/dev`. Returns the files it copied.
    @discardableResult
    public static func build(binary: String, fio: String? = nil, into directory: String) throws -> [String] {
        let fm = FileManager.default
        for d in ["tmp", "wp", "data", "proc", "sys", "dev", "etc"] {
            try fm.createDirectory(atPath: "\(directory)/\(d)", withIntermediateDirectories: true)
        }
        var copied: [String] = []
        func copy(_ source: String, to destination: String) throws {
            let parent = (destination as NSString).deletingLastPathComponent
            try fm.createDirectory(atPath: parent, withIntermediateDirectories: true)
            try? fm.removeItem(atPath: destination)
            // Follow symbolic links: the rootfs holds the real file under the linked name.
            let real =
                (try? fm.destinationOfSymbolicLink(atPath: source)).map {
                    $0.hasPrefix("/") ? $0 : ((source as NSString).deletingLastPathComponent as NSString).appendingPathComponent($0)
                } ?? source
            try fm.copyItem(atPath: real, toPath: destination)
            copied.append(destination)
        }
        try copy(binary, to: "\(directory)/writepath")
        var libraries = try sharedLibraries(of: binary)
        if let fio {
            try copy(fio, to: directory + FioEngine.pathInContainer)
            for lib in try sharedLibraries(of: fio) where !libraries.contains(lib) { libraries.append(lib) }
        }
        for lib in libraries {
            try copy(lib, to: directory + lib)
        }
        try "root:x:0:0:root:/:/writepath\n".write(toFile: "\(directory)/etc/passwd", atomically: true, encoding: .utf8)
        return copied
    }
}
