import Foundation
import Testing
import WritePathEngine
import WritePathReport
import WritePathResult

@testable import WritePathRunner

#if canImport(Glibc)
    import Glibc
#endif

/// A folder above a scratch root holding a file the user had: nothing writepath does may touch it.
struct UserFolder {
    let above: String
    let root: String
    let keep: String

    init(_ name: String) throws {
        above = "/var/tmp/writepath-scratch-safety-\(name)-\(getpid())"
        try? FileManager.default.removeItem(atPath: above)
        root = "\(above)/inner"
        keep = "\(above)/keep.txt"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        try "precious\n".write(toFile: keep, atomically: false, encoding: .utf8)
    }

    var intact: Bool {
        (try? String(contentsOfFile: keep, encoding: .utf8)) == "precious\n" && FileManager.default.fileExists(atPath: root)
    }

    func remove() { try? FileManager.default.removeItem(atPath: above) }
}

@Suite("Scratch folders: only what writepath made, inside the root, is removed", .serialized)
struct ScratchFolderTests {
    @Test("a run folder named .. or . gives a new folder inside the root, never the root or the folder above")
    func dotNames() throws {
        let user = try UserFolder("dots")
        defer { user.remove() }
        for name in ["..", ".", "\(user.root)/..", "/"] {
            let s = try ScratchFolder.make(root: user.root, for: name)
            #expect(ScratchFolder.isInside(s.path, root: user.root), "\(name) -> \(s.path)")
            s.remove()
            #expect(!FileManager.default.fileExists(atPath: s.path))
        }
        #expect(user.intact)
        #expect(!ScratchFolder.isInside(user.above, root: user.root))
        #expect(!ScratchFolder.isInside(user.root, root: user.root))
    }

    @Test("a folder that already exists under the root is not taken over: a new name is made")
    func existingNotReused() throws {
        let user = try UserFolder("existing")
        defer { user.remove() }
        let theirs = "\(user.root)/20260101T000000Z-host"
        try FileManager.default.createDirectory(atPath: theirs, withIntermediateDirectories: true)
        try "theirs\n".write(toFile: "\(theirs)/f", atomically: false, encoding: .utf8)
        let s = try ScratchFolder.make(root: user.root, for: "/somewhere/20260101T000000Z-host")
        #expect(s.path != theirs)
        s.remove()
        #expect(FileManager.default.fileExists(atPath: "\(theirs)/f"))
    }

    @Test("matrix --resume with a path ending in .. leaves the folder above the scratch root as it was")
    func matrixResumeDotDot() throws {
        let user = try UserFolder("matrix")
        defer { user.remove() }
        let spec = try MatrixSpec.parse(
            "layers: [host]\nworkloads: [{ name: w, rw: write, bs: 64k, size: 1m }]\nrepetitions: 1\nseed: 1\n", source: "t.yaml")
        var options = MatrixRunner.Options()
        options.resultsRoot = "\(user.above)/results"
        options.scratchRoot = user.root
        options.engineBinary = engineBinary
        let first = try MatrixRunner(spec: spec, options: options, provenance: Provenance(version: "t", git_commit: "t", arguments: []))
        _ = try first.run()
        options.resumeDirectory = "\(first.directory)/logs/.."
        let resumed = try MatrixRunner(spec: nil, options: options, provenance: Provenance(version: "t", git_commit: "t", arguments: []))
        _ = try resumed.run()
        #expect(user.intact, "the folder above the scratch root lost the user's file")
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: user.root)) ?? ["?"]).isEmpty, "scratch left behind")
    }
}
