import Foundation
import WritePathEngine

#if canImport(Glibc)
    import Glibc
#endif

/// The small guest the QEMU and Xen layers boot: Debian's kernel and an initramfs with busybox,
/// the disk drivers and shared-folder file systems as modules in dependency order, the `writepath` binary and fio (when
/// installed, for `engine: fio`) with their shared libraries, and an init (`guest-init.sh`) that
/// runs one workload on the test disk and hands the result back in the guest protocol's framed,
/// checksummed envelope (`GuestProtocol`).
///
/// Everything comes from Debian's packages on this machine (linux-image-amd64, busybox-static);
/// nothing is downloaded. Images are cached under `cacheRoot/<content hash of the inputs>/`.
public struct GuestImage: Sendable {
    /// The kernel (`vmlinuz`) to boot.
    public var kernel: String
    /// The initramfs (zstd-compressed cpio).
    public var initramfs: String
    /// The kernel version (`uname -r` in the guest).
    public var kernelVersion: String
    /// The content hash naming this image.
    public var hash: String
    /// Bytes of the initramfs.
    public var initramfsBytes: UInt64

    public static let cacheRoot = "/var/tmp/writepath-guest"

    /// Modules loaded in this order: virtio, SCSI, ATA, NVMe and Xen block drivers, then the
    /// shared-folder file systems (virtiofs with fuse, 9p with 9pnet_virtio and netfs), with their
    /// dependencies (`modprobe --show-depends` gives the order on the build machine).
    public static let moduleNames =
        ["virtio_pci", "virtio_blk", "virtio_scsi", "sd_mod", "ata_piix", "ahci", "nvme", "xen-blkfront"] + sharedFolderModules
    /// The shared-folder modules: a kernel without them still boots the disk layers.
    static let sharedFolderModules = ["virtiofs", "9p", "9pnet_virtio"]

    /// Builds the image for `engineBinary` unless an identical one is cached; `rebuild` forces it.
    /// `withFio`: fio and its libraries too (about 80 MB more here), for `engine: fio`; without
    /// it the image carries the engine alone and boots as fast as before.
    /// With `WRITEPATH_GUEST_IMAGE` set (a fleet host), the image exported there (GuestImage+Export.swift).
    public static func prepare(engineBinary: String, withFio: Bool = false, rebuild: Bool = false) throws -> GuestImage {
        if !rebuild, let given = try exportedFromEnvironment(withFio: withFio) { return given }
        // Tenants boot guests at once: one of them builds the image, the others wait for it.
        SharedPreparation.lock.lock()
        defer { SharedPreparation.lock.unlock() }
        let (kernel, version) = try findKernel()
        let moduleFiles = try modulesInOrder(moduleNames, version: version, optional: ["xen-blkfront"] + sharedFolderModules)
        let busybox = try findBusybox()
        let fio = withFio ? FioEngine.binary() : nil
        if withFio && fio == nil {
            throw WritePathError.system(
                call: "exec", path: "fio", errno: ENOENT,
                hint: "fio is not installed; scripts/install-deps.sh build")
        }
        let initScript = try GuestProtocol.Script.guestInit.text()
        var hasher = [
            try EngineRootfs.contentKey(binary: engineBinary, fio: fio), try EngineRootfs.contentHash(of: kernel),
            try EngineRootfs.contentHash(of: busybox), version, initScript,
        ]
        hasher += moduleFiles
        let hash = try stringHash(hasher.joined(separator: "\n"))
        let dir = "\(cacheRoot)/\(hash)"
        let image = "\(dir)/initramfs.zst"
        let fm = FileManager.default
        if !rebuild, fm.fileExists(atPath: image), let size = (try? fm.attributesOfItem(atPath: image)[.size]) as? NSNumber {
            return GuestImage(kernel: kernel, initramfs: image, kernelVersion: version, hash: hash, initramfsBytes: size.uint64Value)
        }
        // One builder at a time per image (threads and processes): the others wait for it and
        // then find the image in the cache.
        try fm.createDirectory(atPath: cacheRoot, withIntermediateDirectories: true)
        let lockFD = open("\(cacheRoot)/.lock-\(hash)", O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard lockFD >= 0 else { throw WritePathError.system(call: "open", path: "\(cacheRoot)/.lock-\(hash)", errno: errno, hint: "") }
        defer { close(lockFD) }
        while flock(lockFD, LOCK_EX) != 0 && errno == EINTR {}
        if !rebuild, fm.fileExists(atPath: image), let size = (try? fm.attributesOfItem(atPath: image)[.size]) as? NSNumber {
            return GuestImage(kernel: kernel, initramfs: image, kernelVersion: version, hash: hash, initramfsBytes: size.uint64Value)
        }
        let work = "\(cacheRoot)/.build-\(hash)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try? fm.removeItem(atPath: work)
        defer { try? fm.removeItem(atPath: work) }
        let root = "\(work)/root"
        for d in ["bin", "proc", "sys", "dev", "tmp", "lib/modules"] {
            try fm.createDirectory(atPath: "\(root)/\(d)", withIntermediateDirectories: true)
        }
        try fm.copyItem(atPath: busybox, toPath: "\(root)/bin/busybox")
        // The engine, stripped of symbols (they are a third of its size), fio, and their libraries.
        try EngineRootfs.build(binary: engineBinary, fio: fio, into: root)
        let strip = try Command.run("strip", ["--strip-all", "\(root)/writepath"], timeout: 120)
        if !strip.succeeded { throw WritePathError.system(call: "strip", path: engineBinary, errno: EIO, hint: strip.stderrTail()) }
        var order: [String] = []
        for path in moduleFiles {
            let name = (path as NSString).lastPathComponent
            if !fm.fileExists(atPath: "\(root)/lib/modules/\(name)") {
                try fm.copyItem(atPath: path, toPath: "\(root)/lib/modules/\(name)")
            }
            order.append(name)
        }
        try (order.joined(separator: "\n") + "\n").write(toFile: "\(root)/modules.order", atomically: true, encoding: .utf8)
        try initScript.write(toFile: "\(root)/init", atomically: true, encoding: .utf8)
        chmod("\(root)/init", 0o755)
        // cpio (newc) of the tree, compressed with zstd: small, and fast to unpack on an emulated CPU.
        try Self.writeNewcArchive(of: root, to: "\(work)/initramfs.cpio")
        // Level 9: unpacking costs the same as at 19, and packing fio's image (about 100 MB) at 19
        // took more than 10 minutes on two shared cores.
        let zstd = try Command.run(
            "zstd", ["-q", "-9", "-T0", "--rm", "-o", "\(work)/initramfs.zst", "\(work)/initramfs.cpio"], timeout: 1200)
        guard zstd.succeeded else {
            throw WritePathError.system(
                call: "zstd", path: "\(work)/initramfs.cpio", errno: zstd.timedOut ? ETIMEDOUT : EIO,
                hint: zstd.timedOut ? "did not finish in 1200 s" : zstd.stderrTail())
        }
        try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
        // rename(2) replaces an image another build put there in one step: a guest booting
        // meanwhile reads either the old file or the new one, never a missing or partial one.
        guard rename("\(work)/initramfs.zst", image) == 0 else {
            throw WritePathError.system(call: "rename", path: image, errno: errno, hint: hintFor(errno: errno))
        }
        let size = ((try? fm.attributesOfItem(atPath: image)[.size]) as? NSNumber)?.uint64Value ?? 0
        return GuestImage(kernel: kernel, initramfs: image, kernelVersion: version, hash: hash, initramfsBytes: size)
    }

    /// The newest `/boot/vmlinuz-*` that has its modules installed.
    static func findKernel() throws -> (String, String) {
        let fm = FileManager.default
        let kernels = ((try? fm.contentsOfDirectory(atPath: "/boot")) ?? []).filter { $0.hasPrefix("vmlinuz-") }.sorted()
        for k in kernels.reversed() {
            let version = String(k.dropFirst("vmlinuz-".count))
            if fm.fileExists(atPath: "/lib/modules/\(version)/modules.dep") { return ("/boot/\(k)", version) }
        }
        throw WritePathError.system(
            call: "find guest kernel", path: "/boot", errno: ENOENT,
            hint: "no /boot/vmlinuz-* with modules; scripts/install-deps.sh guests installs linux-image-amd64")
    }

    static func findBusybox() throws -> String {
        for p in ["/bin/busybox", "/usr/bin/busybox"] where FileManager.default.isExecutableFile(atPath: p) {
            // Only a static busybox runs in the initramfs without libraries.
            if let r = try? Command.run("ldd", [p], timeout: 20), !r.stdout.contains("=>") { return p }
        }
        throw WritePathError.system(
            call: "find busybox", path: "/bin/busybox", errno: ENOENT,
            hint: "a static busybox is needed; scripts/install-deps.sh guests installs busybox-static")
    }

    /// The module files for `names` in kernel `version`, dependencies first, each once
    /// (`modprobe --show-depends`); a module of `optional` the kernel lacks is left out.
    static func modulesInOrder(_ names: [String], version: String, optional: [String] = []) throws -> [String] {
        var files: [String] = []
        for name in names {
            let r = try Command.run("modprobe", ["-S", version, "--show-depends", name], timeout: 30)
            guard r.succeeded else {
                if optional.contains(name) { continue }
                throw WritePathError.system(call: "modprobe --show-depends", path: name, errno: ENOENT, hint: r.stderrTail())
            }
            for line in r.stdout.split(separator: "\n") {
                let parts = line.split(separator: " ")
                guard parts.count >= 2, parts[0] == "insmod" else { continue }  // builtin modules need nothing
                let path = String(parts[1])
                if !files.contains(path) { files.append(path) }
            }
        }
        return files
    }

    static func stringHash(_ text: String) throws -> String {
        let r = try Command.run("sha256sum", [], timeout: 30, stdin: Data(text.utf8))
        guard r.succeeded, let h = r.stdout.split(separator: " ").first else {
            throw WritePathError.system(call: "sha256sum", path: "-", errno: EIO, hint: r.stderrTail())
        }
        return String(h.prefix(16))
    }
}

extension GuestImage {
    /// Writes the tree under `root` to `file` as a cpio archive in the newc format the kernel
    /// unpacks as an initramfs: `find .` in `root`, its names into `cpio -o`, each program with
    /// its own argv, so no path is ever read as shell text.
    static func writeNewcArchive(of root: String, to file: String) throws {
        let names = try Command.run("find", ["."], timeout: 600, currentDirectory: root)
        guard names.succeeded else { throw WritePathError.system(call: "find", path: root, errno: EIO, hint: names.stderrTail()) }
        let cpio = try Command.run(
            "cpio", ["-o", "-H", "newc", "--quiet"], timeout: 600, stdin: Data(names.stdout.utf8), stdoutFile: file,
            currentDirectory: root)
        guard cpio.succeeded else { throw WritePathError.system(call: "cpio", path: root, errno: EIO, hint: cpio.stderrTail()) }
    }
}
