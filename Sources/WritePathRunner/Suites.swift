/// The matrices that ship with writepath: `writepath run --matrix NAME`, NAME one of `names`.
public enum Suites {
    /// Host and every container layer, two workloads, short runs repeated in interleaved rounds: at
    /// least 5 repetitions of each (what the intervals and the `compare` gate need), about 5 minutes here.
    public static let quick = """
        description: host and container layers, two workloads, short interleaved runs, about 5 minutes
        layers: [host, docker-overlay, docker-volume, docker-bind, docker-tmpfs, oci-runc]
        workloads:
          - { name: rand-4k-qd32, rw: randwrite, bs: 4k, iodepth: 32, size: 128m, runtime: 1, ramp_time: 0.5, time_based: true }
          - { name: seq-128k-qd8, rw: write, bs: 128k, iodepth: 8, size: 128m, runtime: 1, ramp_time: 0.5, time_based: true }
        repetitions: auto
        min_repetitions: 5
        max_repetitions: 6
        cv_target: 0.05
        """

    /// Host, containers and guests (virtio-blk, NVMe, IDE), four workloads, repeated until stable.
    public static let standard = """
        description: host, containers and QEMU guests, four workloads, repeated until the spread is small
        layers: [host, docker-overlay, docker-volume, docker-bind, docker-tmpfs, oci-runc, qemu-virtio-blk, qemu-nvme, qemu-ide]
        workloads:
          - { name: rand-4k-qd32, rw: randwrite, bs: 4k, iodepth: 32, size: 512m, runtime: 10, ramp_time: 2, time_based: true }
          - { name: rand-4k-qd1, rw: randwrite, bs: 4k, iodepth: 1, size: 512m, runtime: 10, ramp_time: 2, time_based: true }
          - { name: seq-128k-qd8, rw: write, bs: 128k, iodepth: 8, size: 1g, runtime: 10, ramp_time: 2, time_based: true }
          - { name: rand-4k-fdatasync, rw: randwrite, bs: 4k, iodepth: 1, fdatasync: 1, size: 256m, \
        runtime: 10, ramp_time: 2, time_based: true }
        repetitions: auto
        min_repetitions: 3
        max_repetitions: 6
        """

    /// Everything: every layer and disk model, host backends, cache modes, qcow2, throttles, a Xen PV guest.
    public static let full = """
        description: every layer including throttled containers, six workloads, repeated until stable
        layers:
          - host
          - docker-overlay
          - docker-volume
          - docker-bind
          - docker-tmpfs
          - oci-runc
          - { name: docker-volume, write_iops_limit: 1000 }
          - { name: docker-volume, cpus: 1 }
          - qemu-virtio-blk
          - qemu-virtio-scsi
          - qemu-nvme
          - qemu-ahci
          - qemu-ide
          - { name: qemu-virtio-blk, aio: io_uring, iothread: true }
          - { name: qemu-virtio-blk, aio: native }
          - { name: qemu-virtio-blk, cache: writeback }
          - { name: qemu-virtio-blk, cache: unsafe }
          - { name: qemu-virtio-blk, format: qcow2 }
          - xen-pv
        workloads:
          - { name: rand-4k-qd32, rw: randwrite, bs: 4k, iodepth: 32, size: 1g, runtime: 20, ramp_time: 3, time_based: true }
          - { name: rand-4k-qd1, rw: randwrite, bs: 4k, iodepth: 1, size: 1g, runtime: 20, ramp_time: 3, time_based: true }
          - { name: seq-128k-qd8, rw: write, bs: 128k, iodepth: 8, size: 2g, runtime: 20, ramp_time: 3, time_based: true }
          - { name: seq-1m-qd4, rw: write, bs: 1m, iodepth: 4, size: 2g, runtime: 20, ramp_time: 3, time_based: true }
          - { name: rand-4k-fdatasync, rw: randwrite, bs: 4k, iodepth: 1, fdatasync: 1, size: 256m, \
        runtime: 20, ramp_time: 3, time_based: true }
          - { name: randrw-4k-70w, rw: randrw, rwmixwrite: 70, bs: 4k, iodepth: 16, size: 1g, runtime: 20, ramp_time: 3, time_based: true }
        repetitions: auto
        min_repetitions: 3
        max_repetitions: 10
        """

    /// writepath's engine and fio through the same layers, interleaved (each workload with both
    /// engines back to back in each layer of each round), for the report's cross-check table; one
    /// QEMU disk model (virtio-blk), whose guest image carries fio as it carries the engine.
    public static let crosscheck = """
        description: writepath and fio through host, every container layer and a QEMU guest, two workloads, three rounds
        layers: [host, docker-overlay, docker-volume, docker-bind, docker-tmpfs, oci-runc, qemu-virtio-blk]
        engines: [writepath, fio]
        workloads:
          - { name: rand-4k-qd8, rw: randwrite, bs: 4k, iodepth: 8, size: 128m, runtime: 3, ramp_time: 1, time_based: true }
          - { name: seq-128k-qd4, rw: write, bs: 128k, iodepth: 4, size: 128m, runtime: 3, ramp_time: 1, time_based: true }
        repetitions: 3
        """

    /// Image formats on qemu-virtio-blk: raw against qcow2, each preallocation qemu-img knows (off,
    /// metadata for qcow2, falloc, full), and qcow2 with 2 MiB clusters; random 4 KiB writes over a
    /// fresh image (allocating writes, where the formats differ), with host as the baseline. About
    /// 10 minutes under TCG here.
    public static let formats = """
        description: raw and qcow2 images with each preallocation on qemu-virtio-blk, random 4k writes, three rounds
        layers:
          - host
          - { name: qemu-virtio-blk, format: raw, preallocation: "off" }
          - { name: qemu-virtio-blk, format: raw, preallocation: falloc }
          - { name: qemu-virtio-blk, format: raw, preallocation: full }
          - { name: qemu-virtio-blk, format: qcow2, preallocation: "off" }
          - { name: qemu-virtio-blk, format: qcow2, preallocation: metadata }
          - { name: qemu-virtio-blk, format: qcow2, preallocation: falloc }
          - { name: qemu-virtio-blk, format: qcow2, preallocation: full }
          - { name: qemu-virtio-blk, format: qcow2, preallocation: "off", cluster_size: 2m, l2_cache_size: 4m }
        workloads:
          - { name: rand-4k-qd8, rw: randwrite, bs: 4k, iodepth: 8, size: 256m, runtime: 3, time_based: true }
        repetitions: 3
        """

    /// The guest storage paths: a paravirtual disk, shared folders, served disks and NVMe with and
    /// without passthrough, one workload, host as the baseline. About 10 minutes under TCG here.
    public static let guestPaths = """
        description: guest storage paths (disk, shared folders, served disks, NVMe passthrough), random 4k writes, two rounds
        layers:
          - host
          - qemu-virtio-blk
          - qemu-virtiofs
          - { name: qemu-virtiofs, allow_direct_io: on }
          - qemu-9p
          - qemu-nbd
          - qemu-vhost-user-blk
          - qemu-iscsi
          - qemu-nvme
          - { name: qemu-nvme, passthrough: true }
        workloads:
          - { name: rand-4k-qd8, rw: randwrite, bs: 4k, iodepth: 8, size: 64m, runtime: 3, time_based: true }
        repetitions: 2
        """

    /// Every shipped suite's name, for `named` and the messages that list them.
    public static let names = ["quick", "standard", "full", "crosscheck", "formats", "guest-paths"]

    /// The suite named `name`, or nil.
    public static func named(_ name: String) -> String? {
        switch name {
        case "quick": return quick
        case "standard": return standard
        case "full": return full
        case "crosscheck": return crosscheck
        case "formats": return formats
        case "guest-paths": return guestPaths
        default: return nil
        }
    }
}
