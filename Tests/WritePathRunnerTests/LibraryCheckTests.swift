import Foundation
import Testing
import WritePathEngine
import WritePathTestSupport

@testable import WritePathRunner

#if canImport(Glibc)
    import Glibc
#endif

/// A folder holding `needs-gone`, a program gcc linked against `libwpgone.so.1`, which is then
/// removed: ldd reports it `not found`, as on a machine that lacks a package.
private func programWithMissingLibrary(_ name: String) throws -> (folder: String, program: String) {
    let dir = "/var/tmp/writepath-libcheck-\(name)-\(getpid())"
    try? FileManager.default.removeItem(atPath: dir)
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    try "int wp_gone(void) { return 7; }\n".write(toFile: "\(dir)/gone.c", atomically: true, encoding: .utf8)
    try "int wp_gone(void);\nint main(void) { return wp_gone() == 7 ? 0 : 1; }\n"
        .write(toFile: "\(dir)/main.c", atomically: true, encoding: .utf8)
    let gcc = try #require(Command.which("gcc"), "gcc builds the test program (a new machine of this kind has it)")
    let lib = try runProcess(gcc, ["-shared", "-fPIC", "-Wl,-soname,libwpgone.so.1", "-o", "\(dir)/libwpgone.so.1", "\(dir)/gone.c"])
    try #require(lib.status == 0, "\(lib.stderr)")
    let exe = try runProcess(gcc, ["-o", "\(dir)/needs-gone", "\(dir)/main.c", "\(dir)/libwpgone.so.1"])
    try #require(exe.status == 0, "\(exe.stderr)")
    try FileManager.default.removeItem(atPath: "\(dir)/libwpgone.so.1")
    return (dir, "\(dir)/needs-gone")
}

@Suite("Shared libraries the layers copy: a missing one is named with its package")
struct LibraryCheckTests {
    @Test("ldd's `not found` lines are read, and nothing else")
    func parse() {
        let out = """
            \tlinux-vdso.so.1 (0x00007ffd)
            \tlibyajl.so.2 => not found
            \tlibxenlight.so.4.17 => /var/tmp/t/root/usr/lib/x86_64-linux-gnu/libxenlight.so.4.17 (0x7f)
            \tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x7f)
            """
        #expect(LibraryCheck.notFound(inLdd: out) == ["libyajl.so.2"])
        #expect(LibraryCheck.notFound(inLdd: "\tstatically linked\n").isEmpty)
    }

    @Test("a program linking a library no package holds: the library, the program, `not in any installed package`")
    func hostMissing() throws {
        let (dir, program) = try programWithMissingLibrary("host")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let missing = LibraryCheck.missing(binary: program)
        #expect(missing.map(\.library) == ["libwpgone.so.1"])
        #expect(missing.first?.provider == "not in any installed package")
        #expect(missing.first?.description.contains("needed by \(program)") == true)
        #expect(LibraryCheck.missing(binary: "/bin/ls").isEmpty, "a binary whose libraries resolve has none missing")
        #expect(throws: WritePathError.self, "an image is never built without the library") {
            try EngineRootfs.build(binary: program, into: "\(dir)/rootfs")
        }
    }

    @Test("`writepath layers` with such an engine: the container and guest layers are unavailable naming the library; exit 0")
    func layersCommand() throws {
        let (dir, program) = try programWithMissingLibrary("layers")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try runProcess(
            BuiltBinaries.writepath, ["layers", "--output-format", "json"], environment: ["WRITEPATH_ENGINE": program],
            timeout: 300)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(!r.stderr.contains("Fatal error") && !r.stderr.contains("backtrace"), "\(r.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let layers = try #require(json["layers"] as? [[String: Any]])
        for name in ["docker-overlay", "oci-runc", "qemu-virtio-blk", "xen-pv"] {
            let e = try #require(layers.first { $0["name"] as? String == name }, "\(name) missing")
            let reason = e["reason"] as? String ?? ""
            #expect(e["available"] as? Bool == false, "\(name): \(e)")
            if name == "oci-runc" && geteuid() != 0 { continue }  // root is asked first
            #expect(reason.contains("libwpgone.so.1") && reason.contains("not in any installed package"), "\(name): \(reason)")
        }
        let host = try #require(layers.first { $0["name"] as? String == "host" })
        #expect(host["available"] as? Bool == true, "the host layer copies nothing")
    }

    @Test(
        "a Xen package tree lacking a library: the rig's binaries name it and the package whose files hold it",
        Precondition.xenNested.trait)
    func xenTree() throws {
        let tree = try #require(XenPackages.cached(), "scripts/fetch-xen.sh unpacks the tree")
        let copy = "/var/tmp/writepath-libcheck-xen-\(getpid())"
        try? FileManager.default.removeItem(atPath: copy)
        defer { try? FileManager.default.removeItem(atPath: copy) }
        try FileManager.default.createDirectory(atPath: copy, withIntermediateDirectories: true)
        let cp = try runProcess("/bin/cp", ["-a", tree.root, "\(copy)/root"])
        try #require(cp.status == 0, "\(cp.stderr)")
        let t = XenPackages.Tree(version: tree.version, root: "\(copy)/root")
        #expect(XenPackages.missingLibraries(in: t).isEmpty, "the cached tree resolves: \(XenPackages.missingLibraries(in: t))")

        // libxenlight is in the tree only (libxenmisc4.17), never on the host.
        for f in ["libxenlight.so.4.17", "libxenlight.so.4.17.0"] {
            try? FileManager.default.removeItem(atPath: "\(copy)/root/usr/lib/x86_64-linux-gnu/\(f)")
        }
        let without = XenPackages.missingLibraries(in: t)
        #expect(without.contains { $0.library == "libxenlight.so.4.17" && $0.binary.hasSuffix("/bin/xl") }, "\(without)")
        #expect(without.allSatisfy { $0.provider == "not in any installed package" }, "\(without)")

        // With the per-package file lists fetch-xen.sh writes beside the tree: the package is named.
        try FileManager.default.createDirectory(atPath: "\(copy)/files", withIntermediateDirectories: true)
        try "./usr/lib/x86_64-linux-gnu/libxenlight.so.4.17.0\n./usr/lib/x86_64-linux-gnu/libxenlight.so.4.17\n"
            .write(toFile: "\(copy)/files/libxenmisc4.17.list", atomically: true, encoding: .utf8)
        try "./usr/lib/xen-4.17/bin/xl\n".write(toFile: "\(copy)/files/xen-utils-4.17.list", atomically: true, encoding: .utf8)
        let named = try #require(XenPackages.missingLibraries(in: t).first { $0.binary.hasSuffix("/bin/xl") })
        #expect(named.provider.contains("package libxenmisc4.17"), "\(named)")
        #expect(named.binaryPackage == "xen-utils-4.17", "\(named)")
        let a = LibraryCheck.unavailability([named], what: "the Xen rig", fix: "scripts/fetch-xen.sh")
        guard case let .unavailable(reason, _)? = a else { Issue.record("available with a library missing"); return }
        #expect(reason.contains("libxenlight.so.4.17") && reason.contains("libxenmisc4.17"), "\(reason)")
    }
}
