/// The workload set `writepath demo` runs when given nothing else, as a fio job file: a sequential
/// stream, random 4 KiB writes deep and shallow, and random writes each followed by fdatasync.
public enum DefaultJobs {
    public static let demo = """
        ; writepath demo: what a host's write path does, in about 30 seconds.
        [global]
        ioengine=io_uring
        direct=1
        size=256m
        runtime=5
        time_based
        ramp_time=1

        [seq-write-128k-qd8]
        rw=write
        bs=128k
        iodepth=8

        [rand-write-4k-qd32]
        rw=randwrite
        bs=4k
        iodepth=32

        [rand-write-4k-qd1]
        rw=randwrite
        bs=4k
        iodepth=1

        [rand-write-4k-fdatasync]
        rw=randwrite
        bs=4k
        iodepth=1
        fdatasync=1
        """
}
