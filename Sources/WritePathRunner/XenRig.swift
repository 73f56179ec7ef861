import Foundation
import WritePathEngine

#if canImport(Glibc)
    import Glibc
#endif

/// Debian's Xen 4.17 packages, fetched with `apt-get download` and unpacked with `dpkg-deb -x`
/// into a cache: Xen is never installed on this machine.
///
/// Layout: `cacheRoot/packages/<version>/root` (the unpacked tree) and a `complete` marker beside
/// it, written last. `scripts/fetch-xen.sh` fills the same layout.
public enum XenPackages {
    public static let cacheRoot = "/var/tmp/writepath-xen"
    /// The package whose version names the tree.
    static let hypervisorPackage = "xen-hypervisor-4.17-amd64"
    /// The hypervisor, the toolstack (xl, xenstored, xenconsoled, xen-init-dom0) and its libraries.
    static let names = [
        "xen-hypervisor-4.17-amd64", "xen-utils-4.17", "xen-utils-common", "xenstore-utils",
        "libxencall1", "libxendevicemodel1", "libxenevtchn1", "libxenforeignmemory1", "libxengnttab1",
        "libxenhypfs1", "libxenmisc4.17", "libxenstore4", "libxentoolcore1", "libxentoollog1",
    ]
    /// For HVM domUs: the device model (Debian's Xen-enabled QEMU, `/usr/libexec/xen-qemu-system-i386`)
    /// and its BIOS. Not versioned with Xen: apt's candidates are fetched.
    static let deviceModelNames = ["qemu-system-xen", "seabios"]

    /// An unpacked tree: where it is and the package version it came from.
    public struct Tree: Sendable, Equatable {
        public var version: String
        public var root: String
    }

    /// The version `apt-get download` would fetch (`apt-cache policy`), or nil when apt knows none.
    static func candidateVersion() -> String? {
        guard let r = try? Command.run("apt-cache", ["policy", hypervisorPackage], timeout: 60), r.succeeded else { return nil }
        for line in r.stdout.split(separator: "\n") {
            let t = line.trimmingCharacters(in: .whitespaces)
            if t.hasPrefix("Candidate:") {
                let v = t.dropFirst("Candidate:".count).trimmingCharacters(in: .whitespaces)
                return v.isEmpty || v == "(none)" ? nil : v
            }
        }
        return nil
    }

    /// Whether the tree in `dir` is whole: its `complete` marker lists every package.
    static func isComplete(_ dir: String) -> Bool {
        guard let text = try? String(contentsOfFile: "\(dir)/complete", encoding: .utf8) else { return false }
        let listed = Set(text.split(separator: "\n").map(String.init))
        return (names + deviceModelNames).allSatisfy { listed.contains($0) }
    }

    /// The library folders of an unpacked tree, searched before the machine's (as the rig lays them out).
    static func libraryPath(_ root: String) -> [String] {
        ["\(root)/usr/lib/x86_64-linux-gnu", "\(root)/lib/x86_64-linux-gnu"]
    }

    /// The binaries of `tree` the rigs copy (dom0's toolstack, xenstore, the HVM device model)
    /// whose libraries neither the tree nor this machine holds.
    public static func missingLibraries(in tree: Tree) -> [MissingLibrary] {
        guard let libexec = try? XenRig.libexecDirectory(in: tree.root) else { return [] }
        let binaries =
            XenRig.dom0Programs.map { "\(tree.root)/\(libexec)/bin/\($0)" }
            + ["\(tree.root)/usr/bin/xenstore", "\(tree.root)/\(XenRig.deviceModelPath)"]
        return binaries.filter { FileManager.default.fileExists(atPath: $0) }.flatMap {
            LibraryCheck.missing(binary: $0, libraryPath: libraryPath(tree.root), tree: tree.root)
        }
    }

    /// The newest complete tree in the cache, or nil.
    public static func cached() -> Tree? {
        let dir = "\(cacheRoot)/packages"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [])
            .filter { !$0.hasPrefix(".") && isComplete("\(dir)/\($0)") }
        guard let v = versions.sorted().last else { return nil }
        return Tree(version: v, root: "\(dir)/\(v)/root")
    }

    /// The unpacked tree of apt's candidate version: from the cache, or downloaded and unpacked now.
    /// Without a candidate (apt's lists are missing and nothing reaches the mirror), a cached tree is used.
    public static func ensure() throws -> Tree {
        let fm = FileManager.default
        guard let version = candidateVersion() else {
            if let tree = cached() { return tree }
            throw WritePathError.system(
                call: "apt-cache policy", path: hypervisorPackage, errno: ENOENT,
                hint: "apt knows no \(hypervisorPackage): run apt-get update, or scripts/fetch-xen.sh")
        }
        let dir = "\(cacheRoot)/packages/\(version)"
        if isComplete(dir) { return Tree(version: version, root: "\(dir)/root") }
        let work = "\(cacheRoot)/packages/.fetch-\(getpid())"
        try? fm.removeItem(atPath: work)
        defer { try? fm.removeItem(atPath: work) }
        try fm.createDirectory(atPath: "\(work)/debs", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: "\(work)/root", withIntermediateDirectories: true)
        // The dependency closure, not a list: what apt's resolver would install with these
        // packages here (`apt-get -s install`, nothing installed) is fetched too (libyajl2, ...).
        let requested = names.map { "\($0)=\(version)" } + deviceModelNames
        let simulated = try Command.run("apt-get", ["-s", "install", "--no-install-recommends"] + requested, timeout: 120)
        let closure = simulated.stdout.split(separator: "\n").compactMap { line -> String? in
            let f = line.split(separator: " ")
            return f.count > 1 && f[0] == "Inst" ? String(f[1]) : nil
        }.filter { !names.contains($0) && !deviceModelNames.contains($0) }
        let download = try Command.run(
            "apt-get", ["download", "-q"] + requested + closure, timeout: 600, currentDirectory: "\(work)/debs")
        guard download.succeeded else {
            throw WritePathError.system(
                call: "apt-get download", path: hypervisorPackage, errno: EIO,
                hint: "\(download.stderrTail()); run apt-get update, or scripts/fetch-xen.sh")
        }
        try fm.createDirectory(atPath: "\(work)/files", withIntermediateDirectories: true)
        for deb in try fm.contentsOfDirectory(atPath: "\(work)/debs") where deb.hasSuffix(".deb") {
            let x = try Command.run("dpkg-deb", ["-x", "\(work)/debs/\(deb)", "\(work)/root"], timeout: 300)
            guard x.succeeded else {
                throw WritePathError.system(call: "dpkg-deb -x", path: deb, errno: EIO, hint: x.stderrTail())
            }
            // Which package each unpacked file came from (LibraryCheck names a missing library's package).
            let list = try Command.run("dpkg-deb", ["-c", "\(work)/debs/\(deb)"], timeout: 60)
            let package = String(deb.prefix { $0 != "_" })
            let paths = list.stdout.split(separator: "\n").compactMap {
                $0.split(separator: " ", omittingEmptySubsequences: true).dropFirst(5).first
            }
            try (paths.joined(separator: "\n") + "\n").write(toFile: "\(work)/files/\(package).list", atomically: true, encoding: .utf8)
        }
        try? fm.removeItem(atPath: dir)
        try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try fm.moveItem(atPath: "\(work)/root", toPath: "\(dir)/root")
        try fm.moveItem(atPath: "\(work)/files", toPath: "\(dir)/files")
        try "\((names + deviceModelNames).joined(separator: "\n"))\n".write(toFile: "\(dir)/complete", atomically: true, encoding: .utf8)
        return Tree(version: version, root: "\(dir)/root")
    }
}

/// The nested Xen rig: Debian's Xen hypervisor, and a minimal dom0 initramfs made from Debian's
/// packages (busybox, the dom0 kernel's Xen backend modules, xl with xenstored and xenconsoled and
/// their libraries) that carries the domU's kernel and initramfs (`GuestImage`) inside it.
///
/// QEMU loads the hypervisor as a multiboot kernel; dom0's kernel and this initramfs are its
/// modules. dom0's init starts the toolstack, creates one domU with `xl` (PV or PVH) whose disk
/// is dom0's virtio disk, and forwards the domU's result envelope, unchanged, to the host on
/// COM2. Cached under `XenPackages.cacheRoot/<hash of the inputs>/`.
public struct XenRig: Sendable {
    /// The hypervisor (`xen-4.17-amd64`, gunzipped: QEMU loads it as multiboot).
    public var hypervisor: String
    /// dom0's kernel, also the domU's.
    public var kernel: String
    public var kernelVersion: String
    /// dom0's initramfs (an uncompressed cpio: its largest part, the domU image, is compressed already).
    public var dom0Initramfs: String
    /// The Xen packages' version (`4.17.7+13-g2445b30a44-0+deb12u1`).
    public var packageVersion: String
    /// The domU's image.
    public var guest: GuestImage
    /// The content hash naming this rig.
    public var hash: String

    /// Modules dom0 loads, in this order: its own disk (virtio), the Xen device nodes, block backend, loop and ext4.
    static let dom0Modules = [
        "virtio_pci", "virtio_blk", "xen-privcmd", "xenfs", "xen-evtchn", "xen-gntdev", "xen-gntalloc",
        "xen-blkback", "loop", "ext4",
    ]
    /// Programs dom0 runs, from the package's libexec folder (`usr/lib/xen-4.17/bin`).
    static let dom0Programs = ["xl", "xenstored", "xenconsoled", "xen-init-dom0", "libxl-save-helper"]

    /// Builds the rig for `engineBinary` unless an identical one is cached; fetches the Xen packages
    /// first if they are not unpacked yet (`XenPackages.ensure`).
    /// `deviceModel`: also carry what an HVM domU needs in dom0 (a separate, larger rig): the
    /// Xen-enabled QEMU with its libraries, hvmloader, SeaBIOS, and the host QEMU's option ROMs
    /// and keymaps (qemu-system-data, installed with the QEMU layers' dependencies).
    /// `withFio`: the domU's image carries fio too (`engine: fio`; a rig of its own).
    public static func prepare(
        engineBinary: String, deviceModel: Bool = false, withFio: Bool = false, rebuild: Bool = false
    ) throws -> XenRig {
        let packages = try XenPackages.ensure()
        let guest = try GuestImage.prepare(engineBinary: engineBinary, withFio: withFio)
        let (kernel, version) = try GuestImage.findKernel()
        let busybox = try GuestImage.findBusybox()
        let modules = try GuestImage.modulesInOrder(dom0Modules, version: version)
        let dom0InitScript = try GuestProtocol.Script.dom0Init.text()
        // The block hotplug script libxl runs in dom0 for a `phy` disk: Debian's needs bash and
        // more; a `phy` backend needs only the device's major:minor (hex) and the connected status.
        let blockHotplugScript = try GuestProtocol.Script.blockHotplug.text()
        let libexec = try libexecDirectory(in: packages.root)
        let inputs =
            [
                packages.version, guest.hash, try EngineRootfs.contentHash(of: kernel), try EngineRootfs.contentHash(of: busybox),
                version, dom0InitScript, blockHotplugScript, deviceModel ? "device model" : "no device model",
            ] + modules
        let hash = try GuestImage.stringHash(inputs.joined(separator: "\n"))
        let dir = "\(XenPackages.cacheRoot)/\(hash)"
        let rig = XenRig(
            hypervisor: "\(dir)/xen", kernel: kernel, kernelVersion: version, dom0Initramfs: "\(dir)/dom0.cpio",
            packageVersion: packages.version, guest: guest, hash: hash)
        let fm = FileManager.default
        if !rebuild, fm.fileExists(atPath: "\(dir)/complete") { return rig }

        let work = "\(XenPackages.cacheRoot)/.build-\(hash)-\(getpid())"
        try? fm.removeItem(atPath: work)
        defer { try? fm.removeItem(atPath: work) }
        let root = "\(work)/root"
        for d in [
            "bin", "proc", "sys", "dev", "tmp", "mnt", "lib/modules", "etc/xen/scripts", "domu", "usr/bin", "\(libexec)/bin",
            "var/run/xen", "var/lib/xen", "var/log/xen/console", "var/lock",
        ] {
            try fm.createDirectory(atPath: "\(root)/\(d)", withIntermediateDirectories: true)
        }
        try fm.copyItem(atPath: busybox, toPath: "\(root)/bin/busybox")
        var order: [String] = []
        for path in modules {
            let name = (path as NSString).lastPathComponent
            if !order.contains(name) {
                try fm.copyItem(atPath: path, toPath: "\(root)/lib/modules/\(name)")
                order.append(name)
            }
        }
        try (order.joined(separator: "\n") + "\n").write(toFile: "\(root)/modules.order", atomically: true, encoding: .utf8)

        // The toolstack and the libraries it links, found by ldd in the unpacked tree first.
        var binaries: [String] = []
        for p in dom0Programs {
            try fm.copyItem(atPath: "\(packages.root)/\(libexec)/bin/\(p)", toPath: "\(root)/\(libexec)/bin/\(p)")
            binaries.append("\(packages.root)/\(libexec)/bin/\(p)")
        }
        try fm.copyItem(atPath: "\(packages.root)/usr/bin/xenstore", toPath: "\(root)/usr/bin/xenstore")
        binaries.append("\(packages.root)/usr/bin/xenstore")
        for n in ["read", "write", "rm", "ls", "list", "exists"] {
            try fm.createSymbolicLink(atPath: "\(root)/usr/bin/xenstore-\(n)", withDestinationPath: "xenstore")
        }
        if deviceModel {
            binaries.append(try copyDeviceModel(from: packages.root, libexec: libexec, into: root))
        }
        var libraries = Set<String>()
        for b in binaries { libraries.formUnion(try sharedLibraries(of: b, packageRoot: packages.root)) }
        // libxl unwinds with libgcc_s (pthread_cancel): without it `xl create` aborts.
        libraries.insert("/lib/x86_64-linux-gnu/libgcc_s.so.1")
        for lib in libraries.sorted() {
            let inside = lib.hasPrefix(packages.root + "/") ? String(lib.dropFirst(packages.root.count)) : lib
            let real = URL(fileURLWithPath: lib).resolvingSymlinksInPath().path
            let destination = root + inside
            try fm.createDirectory(atPath: (destination as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            if !fm.fileExists(atPath: destination) { try fm.copyItem(atPath: real, toPath: destination) }
        }
        try fm.copyItem(atPath: "\(packages.root)/etc/xen/xl.conf", toPath: "\(root)/etc/xen/xl.conf")
        try blockHotplugScript.write(toFile: "\(root)/etc/xen/scripts/block", atomically: true, encoding: .utf8)
        chmod("\(root)/etc/xen/scripts/block", 0o755)
        try dom0InitScript.write(toFile: "\(root)/init", atomically: true, encoding: .utf8)
        chmod("\(root)/init", 0o755)
        try fm.copyItem(atPath: kernel, toPath: "\(root)/domu/vmlinuz")
        try fm.copyItem(atPath: guest.initramfs, toPath: "\(root)/domu/initramfs.zst")

        try GuestImage.writeNewcArchive(of: root, to: "\(work)/dom0.cpio")
        let xen = try Command.run("gzip", ["-dc", "\(packages.root)/boot/xen-4.17-amd64.gz"], timeout: 120, stdoutFile: "\(work)/xen")
        guard xen.succeeded else {
            throw WritePathError.system(
                call: "gzip -d", path: "\(packages.root)/boot/xen-4.17-amd64.gz", errno: EIO, hint: xen.stderrTail())
        }
        try? fm.removeItem(atPath: dir)
        try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try fm.moveItem(atPath: "\(work)/dom0.cpio", toPath: rig.dom0Initramfs)
        try fm.moveItem(atPath: "\(work)/xen", toPath: rig.hypervisor)
        try "\(packages.version)\n\(guest.hash)\n".write(toFile: "\(dir)/complete", atomically: true, encoding: .utf8)
        return rig
    }

    /// Where libxl looks for the HVM device model (`device_model_override` is not needed).
    static let deviceModelPath = "usr/libexec/xen-qemu-system-i386"

    /// Copies the HVM device model and its firmware into the dom0 tree `root`; returns the device
    /// model's path in the package tree (for ldd).
    static func copyDeviceModel(from packageRoot: String, libexec: String, into root: String) throws -> String {
        let fm = FileManager.default
        let files = [
            (deviceModelPath, "\(packageRoot)/\(deviceModelPath)"),
            ("\(libexec)/boot/hvmloader", "\(packageRoot)/\(libexec)/boot/hvmloader"),
            ("usr/share/seabios/bios-256k.bin", "\(packageRoot)/usr/share/seabios/bios-256k.bin"),
        ]
        for (inside, source) in files {
            guard fm.fileExists(atPath: source) else {
                throw WritePathError.system(
                    call: "copy the HVM device model", path: source, errno: ENOENT,
                    hint: "the unpacked qemu-system-xen, xen-utils or seabios package lacks it: scripts/fetch-xen.sh fetches them again")
            }
            try fm.createDirectory(atPath: "\(root)/\((inside as NSString).deletingLastPathComponent)", withIntermediateDirectories: true)
            try fm.copyItem(atPath: URL(fileURLWithPath: source).resolvingSymlinksInPath().path, toPath: "\(root)/\(inside)")
        }
        // The direct kernel boot option ROM, the NIC ROMs QEMU may ask for, and keymaps.
        let share = "/usr/share/qemu"
        try fm.createDirectory(atPath: "\(root)\(share)", withIntermediateDirectories: true)
        for name in (try? fm.contentsOfDirectory(atPath: share)) ?? []
        where name.hasPrefix("linuxboot") || name.hasSuffix(".rom") || name.hasPrefix("vgabios") || name == "keymaps" {
            let cp = try Command.run("cp", ["-rL", "\(share)/\(name)", "\(root)\(share)/"], timeout: 60)
            guard cp.succeeded else { throw WritePathError.system(call: "cp", path: "\(share)/\(name)", errno: EIO, hint: cp.stderrTail()) }
        }
        guard fm.fileExists(atPath: "\(root)\(share)/linuxboot_dma.bin") else {
            throw WritePathError.system(
                call: "find QEMU's option ROMs", path: "\(share)/linuxboot_dma.bin", errno: ENOENT,
                hint: "an HVM domU boots its kernel through it: apt-get install qemu-system-data")
        }
        return "\(packageRoot)/\(deviceModelPath)"
    }

    /// `usr/lib/xen-4.17`: where the package keeps xl and the helpers libxl runs.
    static func libexecDirectory(in packageRoot: String) throws -> String {
        let lib = "\(packageRoot)/usr/lib"
        let candidates = ((try? FileManager.default.contentsOfDirectory(atPath: lib)) ?? []).filter {
            $0.hasPrefix("xen-") && FileManager.default.isExecutableFile(atPath: "\(lib)/\($0)/bin/xl")
        }
        guard let d = candidates.sorted().last else {
            throw WritePathError.system(
                call: "find xl", path: "\(lib)/xen-*/bin/xl", errno: ENOENT,
                hint: "the unpacked xen-utils package has no xl; remove \(XenPackages.cacheRoot)/packages and run again")
        }
        return "usr/lib/\(d)"
    }

    /// The libraries `binary` links (the loader included), resolved in the unpacked tree first.
    static func sharedLibraries(of binary: String, packageRoot: String) throws -> [String] {
        let r = try Command.run(
            "/usr/bin/env", ["LD_LIBRARY_PATH=\(packageRoot)/usr/lib/x86_64-linux-gnu:\(packageRoot)/lib/x86_64-linux-gnu", "ldd", binary],
            timeout: 60)
        if !LibraryCheck.notFound(inLdd: r.stdout).isEmpty {
            let missing = LibraryCheck.missing(binary: binary, libraryPath: XenPackages.libraryPath(packageRoot), tree: packageRoot)
            throw WritePathError.system(
                call: "ldd", path: binary, errno: ENOENT,
                hint: "a shared library is not found: \(missing.map(\.description).joined(separator: "; ")); scripts/fetch-xen.sh")
        }
        guard r.succeeded else {
            throw WritePathError.system(
                call: "ldd", path: binary, errno: ENOENT,
                hint:
                    "a library is missing: "
                    + "\(r.stdout.split(separator: "\n").filter { $0.contains("not found") }.joined(separator: ", ")) \(r.stderrTail())"
            )
        }
        return EngineRootfs.librariesListed(byLdd: r.stdout)
    }
}
