import ArgumentParser
import Foundation
import WritePathEngine
import WritePathRunner

/// `writepath guest-image`: builds (or finds) the guest image the QEMU layers boot, and probes
/// which acceleration guests get.
struct GuestImageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "guest-image",
        abstract: "Build the guest image for the QEMU layers (cached by content) and print where it is.")

    @Flag(name: .customLong("rebuild"), help: "Build it even when an identical one is cached.") var rebuild = false
    @Option(name: .customLong("engine"), help: "The writepath binary to put in the guest (default: this one).") var engine: String?
    @Flag(name: .customLong("with-fio"), help: "Put fio in the image too (for engine: fio workloads).") var withFio = false
    @Option(
        name: .customLong("export"),
        help: "Also copy the image (vmlinuz, initramfs.zst, guest-image.json) to DIR, for WRITEPATH_GUEST_IMAGE=DIR on another machine.")
    var export: String?

    func run() throws {
        let binary = engine ?? EngineRootfs.defaultEngineBinary()
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw WritePathError.invalidInput(field: "engine", message: "'\(binary)' is not an executable writepath binary")
        }
        if case let .unavailable(reason, fix) = QemuRunAvailability.check() {
            throw WritePathError.system(call: "guest-image", path: binary, errno: 2, hint: "\(reason); \(fix)")
        }
        let image = try GuestImage.prepare(engineBinary: binary, withFio: withFio, rebuild: rebuild)
        if let export { try image.export(to: export, withFio: withFio) }
        let accel = Accelerator.detect(image: image)
        Output.stdout(
            """
            kernel:     \(image.kernel) (\(image.kernelVersion))
            initramfs:  \(image.initramfs) (\(ByteSize.format(image.initramfsBytes)))
            image hash: \(image.hash)
            accel:      \(accel.name): \(accel.reason)

            """ + (export.map { "exported:   \($0) (WRITEPATH_GUEST_IMAGE=\($0) writepath run ... boots it)\n" } ?? ""))
    }
}
