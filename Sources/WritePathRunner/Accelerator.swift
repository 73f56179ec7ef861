import Foundation
import WritePathEngine

#if canImport(Glibc)
    import Glibc
#endif

/// Which CPU acceleration QEMU guests get, found out by booting a guest, not by the presence of
/// /dev/kvm (a /dev/kvm that cannot boot a stock kernel exists on some machines).
public struct Accelerator: Sendable, Equatable {
    /// `kvm` or `tcg`.
    public var name: String
    /// Why: "KVM booted a test guest in 1.2 s", "/dev/kvm is missing", "KVM guest did not boot within 20 s".
    public var reason: String

    /// Seconds a KVM test guest may take to boot before KVM is judged unusable.
    public static let probeTimeout = 20.0

    /// The acceleration QEMU layers will use. The answer is cached per boot of this machine and
    /// QEMU version in `GuestImage.cacheRoot`, so the probe (a guest boot) runs once.
    public static func detect(image: GuestImage, qemu: String = "qemu-system-x86_64") -> Accelerator {
        SharedPreparation.lock.lock()
        defer { SharedPreparation.lock.unlock() }
        if let known = cached(qemu: qemu) { return known }
        let cache = cacheFile(qemu: qemu)
        let result = probe(image: image, qemu: qemu)
        try? FileManager.default.createDirectory(atPath: GuestImage.cacheRoot, withIntermediateDirectories: true)
        try? "\(result.name)\n\(result.reason)".write(toFile: cache, atomically: true, encoding: .utf8)
        return result
    }

    /// The probe's answer from earlier in this machine boot, or nil.
    public static func cached(qemu: String = "qemu-system-x86_64") -> Accelerator? {
        guard let text = try? String(contentsOfFile: cacheFile(qemu: qemu), encoding: .utf8) else { return nil }
        let parts = text.split(separator: "\n", maxSplits: 1).map(String.init)
        return parts.count == 2 ? Accelerator(name: parts[0], reason: parts[1]) : nil
    }

    static func cacheFile(qemu: String) -> String {
        let bootID =
            (try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? "unknown"
        let version = QemuRun.version(qemu) ?? "unknown"
        return "\(GuestImage.cacheRoot)/accel-\(bootID)-\(version.filter { $0.isLetter || $0.isNumber || $0 == "." })"
    }

    static func probe(image: GuestImage, qemu: String) -> Accelerator {
        guard FileManager.default.fileExists(atPath: "/dev/kvm") else {
            return Accelerator(name: "tcg", reason: "/dev/kvm is missing: guests run on an emulated CPU (TCG)")
        }
        guard access("/dev/kvm", R_OK | W_OK) == 0 else {
            return Accelerator(name: "tcg", reason: "/dev/kvm is not accessible to this user: guests run on an emulated CPU (TCG)")
        }
        let dir = "\(GuestImage.cacheRoot)/probe-\(getpid())"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let channel = "\(dir)/channel.txt"
        let args = [
            "-accel", "kvm", "-machine", "q35", "-cpu", "host", "-smp", "1", "-m", "256M", "-nodefaults",
            "-display", "none", "-no-reboot", "-kernel", image.kernel, "-initrd", image.initramfs,
            "-append", "console=ttyS0 panic=-1 quiet wp.probe=1",
            "-serial", "file:\(dir)/console.log", "-serial", "file:\(channel)",
        ]
        var booted = false
        let r = try? Command.run(
            qemu, args, timeout: probeTimeout,
            onPoll: { _ in
                booted = booted || ((try? String(contentsOfFile: channel, encoding: .utf8))?.contains("WRITEPATH-PROBE-OK") ?? false)
                return !booted
            })
        if booted {
            return Accelerator(name: "kvm", reason: "KVM booted a test guest")
        }
        if let r, !r.timedOut {
            let why = r.stderr.split(separator: "\n").last.map(String.init) ?? "exit \(r.status)"
            return Accelerator(
                name: "tcg", reason: "/dev/kvm exists but qemu -accel kvm failed (\(why)): guests run on an emulated CPU (TCG)")
        }
        return Accelerator(
            name: "tcg",
            reason: "/dev/kvm exists but a KVM test guest did not boot within \(Int(probeTimeout)) s: guests run on an emulated CPU (TCG)")
    }
}
