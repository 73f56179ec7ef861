import CWritePathShims

#if canImport(Glibc)
    import Glibc
#endif

/// Thin wrappers over the system calls writepath makes outside the I/O hot path. Each retries
/// EINTR and turns a failure into `WritePathError.system` naming the call, the path and the errno.
enum Sys {
    static func open(_ path: String, flags: Int32, mode: mode_t = 0o644) throws -> Int32 {
        while true {
            let fd = Glibc.open(path, flags, mode)
            if fd >= 0 { return fd }
            if errno == EINTR { continue }
            let e = errno
            var hint = hintFor(errno: e)
            if e == EINVAL && flags & wp_o_direct() != 0 {
                hint = "the filesystem refuses O_DIRECT; use --direct=0 or another target"
            } else if e == EBUSY {
                hint = "the device is in use (mounted or held by another driver)"
            }
            throw WritePathError.system(call: "open", path: path, errno: e, hint: hint)
        }
    }

    static func fstat(_ fd: Int32, path: String) throws -> stat {
        var st = stat()
        guard Glibc.fstat(fd, &st) == 0 else {
            throw WritePathError.system(call: "fstat", path: path, errno: errno, hint: "")
        }
        return st
    }

    /// stat(2); nil when the path does not exist.
    static func statIfExists(_ path: String) throws -> stat? {
        var st = stat()
        if fstatat(AT_FDCWD, path, &st, 0) == 0 { return st }
        if errno == ENOENT { return nil }
        throw WritePathError.system(call: "stat", path: path, errno: errno, hint: hintFor(errno: errno))
    }

    /// lstat(2): the path itself (a symlink is not followed), nil when nothing is there.
    static func lstatIfExists(_ path: String) throws -> stat? {
        var st = stat()
        if fstatat(AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW) == 0 { return st }
        if errno == ENOENT { return nil }
        throw WritePathError.system(call: "lstat", path: path, errno: errno, hint: hintFor(errno: errno))
    }

    static func close(_ fd: Int32) { _ = Glibc.close(fd) }

    /// pread until `count` bytes or end of file; returns the bytes read.
    static func pread(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, count: Int, offset: UInt64, path: String) throws -> Int {
        var done = 0
        while done < count {
            let r = Glibc.pread(fd, buffer + done, count - done, off_t(offset) + off_t(done))
            if r < 0 {
                if errno == EINTR { continue }
                throw WritePathError.system(call: "pread", path: path, errno: errno, hint: hintFor(errno: errno))
            }
            if r == 0 { break }
            done += r
        }
        return done
    }

    static func pwriteAll(_ fd: Int32, _ buffer: UnsafeRawPointer, count: Int, offset: UInt64, path: String) throws {
        var done = 0
        while done < count {
            let r = Glibc.pwrite(fd, buffer + done, count - done, off_t(offset) + off_t(done))
            if r < 0 {
                if errno == EINTR { continue }
                throw WritePathError.system(call: "pwrite", path: path, errno: errno, hint: hintFor(errno: errno))
            }
            if r == 0 {
                throw WritePathError.system(call: "pwrite", path: path, errno: EIO, hint: "wrote 0 bytes")
            }
            done += r
        }
    }

    static func fsync(_ fd: Int32, path: String) throws {
        while Glibc.fsync(fd) != 0 {
            if errno == EINTR { continue }
            throw WritePathError.system(call: "fsync", path: path, errno: errno, hint: hintFor(errno: errno))
        }
    }

    static func fallocate(_ fd: Int32, offset: UInt64, length: UInt64, path: String) throws {
        while true {
            let r = wp_fallocate(fd, offset, length)
            if r == 0 { return }
            if r == -EINTR { continue }
            throw WritePathError.system(call: "fallocate", path: path, errno: -r, hint: hintFor(errno: -r))
        }
    }

    /// Page-aligned memory of `bytes`, aligned to at least `alignment`.
    static func alignedAllocate(bytes: Int, alignment: Int) throws -> UnsafeMutableRawPointer {
        var p: UnsafeMutableRawPointer?
        let r = posix_memalign(&p, max(alignment, 4096), max(bytes, 1))
        guard r == 0, let p else {
            throw WritePathError.system(
                call: "posix_memalign", path: "", errno: r, hint: "not enough memory for the I/O buffers; lower iodepth or bs")
        }
        return p
    }

    /// Reads a small text file (sysfs, procfs); nil when it cannot be read.
    static func readSmallFile(_ path: String, limit: Int = 1 << 20) -> String? {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { Glibc.close(fd) }
        var data = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 65536)
        while data.count < limit {
            let r = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if r < 0 { if errno == EINTR { continue }; return nil }
            if r == 0 { break }
            data.append(contentsOf: chunk[0..<r])
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// realpath(3); the input when it cannot be resolved.
    static func realpath(_ path: String) -> String {
        guard let r = Glibc.realpath(path, nil) else { return path }
        defer { free(r) }
        return String(cString: r)
    }
}

/// The major number of a device number (glibc's `major()` macro).
func major(_ dev: dev_t) -> UInt64 {
    let d = UInt64(dev)
    return ((d >> 8) & 0xFFF) | ((d >> 32) & ~UInt64(0xFFF))
}

/// The minor number of a device number (glibc's `minor()` macro).
func minor(_ dev: dev_t) -> UInt64 {
    let d = UInt64(dev)
    return (d & 0xFF) | ((d >> 12) & ~UInt64(0xFF))
}
