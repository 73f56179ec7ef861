import Foundation
import WritePathEngine

#if canImport(Glibc)
    import Glibc
#endif

/// A guest image made on one machine and booted on another: `writepath guest-image --export DIR`
/// writes the kernel, the initramfs and `guest-image.json` into DIR; a `writepath run` whose
/// environment names such a folder (`WRITEPATH_GUEST_IMAGE`) boots it instead of building its own.
/// This is how `writepath fleet` gives every host the controller's image, as it gives them its binary:
/// the image carries its own kernel and modules, so it does not depend on the host's kernel.
extension GuestImage {
    /// The environment variable naming an exported image folder.
    public static let exportedVariable = "WRITEPATH_GUEST_IMAGE"
    /// The description file in an exported folder (`writepath.guest-image/1`).
    public static let exportedDescription = "guest-image.json"

    /// What `guest-image.json` records.
    struct Exported: Codable {
        var schema = "writepath.guest-image/1"
        var hash: String
        var kernel_version: String
        /// Whether the initramfs carries fio (for `engine: fio` workloads).
        var with_fio: Bool
    }

    /// Copies this image into `folder` (made if missing; files in it are replaced): `vmlinuz`,
    /// `initramfs.zst` and `guest-image.json`.
    public func export(to folder: String, withFio: Bool) throws {
        let fm = FileManager.default
        do { try fm.createDirectory(atPath: folder, withIntermediateDirectories: true) } catch {
            throw WritePathError.system(call: "mkdir", path: folder, errno: EIO, hint: "\(error)")
        }
        for (from, name) in [(kernel, "vmlinuz"), (initramfs, "initramfs.zst")] {
            let to = "\(folder)/\(name)"
            try? fm.removeItem(atPath: to)
            do { try fm.copyItem(atPath: from, toPath: to) } catch {
                throw WritePathError.system(call: "copy", path: from, errno: EIO, hint: "to \(to): \(error)")
            }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try encoder.encode(Exported(hash: hash, kernel_version: kernelVersion, with_fio: withFio))
        guard fm.createFile(atPath: "\(folder)/\(Self.exportedDescription)", contents: data + Data("\n".utf8)) else {
            throw WritePathError.system(
                call: "write", path: "\(folder)/\(Self.exportedDescription)", errno: errno, hint: hintFor(errno: errno))
        }
    }

    /// The image exported into `folder`, and whether it carries fio. Throws `invalidInput` naming
    /// the folder when a file is missing or the description does not parse.
    public static func exported(at folder: String) throws -> (image: GuestImage, withFio: Bool) {
        let fm = FileManager.default
        let field = Self.exportedVariable
        guard let data = fm.contents(atPath: "\(folder)/\(exportedDescription)"),
            let d = try? JSONDecoder().decode(Exported.self, from: data)
        else {
            throw WritePathError.invalidInput(
                field: field, message: "'\(folder)' has no readable \(exportedDescription); make it with writepath guest-image --export")
        }
        for name in ["vmlinuz", "initramfs.zst"] where !fm.fileExists(atPath: "\(folder)/\(name)") {
            throw WritePathError.invalidInput(
                field: field, message: "'\(folder)' has no \(name); make it with writepath guest-image --export")
        }
        let size = ((try? fm.attributesOfItem(atPath: "\(folder)/initramfs.zst")[.size]) as? NSNumber)?.uint64Value ?? 0
        let image = GuestImage(
            kernel: "\(folder)/vmlinuz", initramfs: "\(folder)/initramfs.zst", kernelVersion: d.kernel_version, hash: d.hash,
            initramfsBytes: size)
        return (image, d.with_fio)
    }

    /// The image `WRITEPATH_GUEST_IMAGE` names, when it is set and carries what the run needs (fio
    /// for `withFio`); nil otherwise (the image is built here as usual).
    static func exportedFromEnvironment(withFio: Bool) throws -> GuestImage? {
        guard let folder = ProcessInfo.processInfo.environment[exportedVariable], !folder.isEmpty else { return nil }
        let found = try exported(at: folder)
        return !withFio || found.withFio ? found.image : nil
    }
}
