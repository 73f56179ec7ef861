import Foundation
import WritePathEngine

#if canImport(Glibc)
    import Glibc
#endif

/// Files the user names for output (`--output`, `--markdown`, `--junit`, `--html`, report files):
/// what is at the path is never replaced by something else. A regular file, or nothing, is
/// replaced atomically (temporary file in the same folder, fsync, rename); a character device,
/// FIFO or socket (`/dev/null`, `/dev/stdout`'s pipe), or a symlink to one of those or to a regular
/// file, is written in place through the path, so the node or link stays what it was. Folders and
/// block devices are refused: a report written there would destroy data.
public enum OutputFile {
    /// How `path` will be written.
    public enum Mode: Equatable, Sendable {
        /// Nothing or a regular file is at the path: a new file is renamed over it.
        case replace
        /// A device node, FIFO, socket or a symlink: opened and written in place.
        case inPlace
    }

    /// Checks, before anything is measured, that `path` can be written; throws `invalidInput`
    /// naming `field` with what would be accepted otherwise.
    @discardableResult
    public static func check(_ path: String, field: String) throws -> Mode {
        guard !path.isEmpty, !path.utf8.contains(0) else {
            throw WritePathError.invalidInput(field: field, message: "give a file name")
        }
        try checkNameLengths(path, field: field)
        var l = stat()
        if lstat(path, &l) != 0 {
            guard errno == ENOENT else { throw unusable(path, field: field, errno: errno) }
            try checkFolderWritable(path, field: field)
            return .replace
        }
        var st = l
        let isLink = (l.st_mode & S_IFMT) == S_IFLNK
        if isLink && stat(path, &st) != 0 {
            let dest = (try? FileManager.default.destinationOfSymbolicLink(atPath: path)) ?? "?"
            throw WritePathError.invalidInput(
                field: field, message: "\(quoted(path)) is a dangling symlink (to \(dest), which does not exist); give a file name")
        }
        switch st.st_mode & S_IFMT {
        case S_IFDIR:
            throw WritePathError.invalidInput(field: field, message: "\(quoted(path)) is a folder; give a file name")
        case S_IFBLK:
            throw WritePathError.invalidInput(
                field: field,
                message: "\(quoted(path)) is a block device; writing a report there would overwrite its data; give a file name")
        case S_IFREG where !isLink:
            try checkFolderWritable(path, field: field)
            return .replace
        default:
            if access(path, W_OK) != 0 { throw unusable(path, field: field, errno: errno) }
            return .inPlace
        }
    }

    /// Writes `text` to `path` as `check` describes.
    public static func write(_ text: String, to path: String, field: String = "output") throws {
        switch try check(path, field: field) {
        case .replace: try writeAtomically(text, to: path)
        case .inPlace: try writeInPlace(text, to: path)
        }
    }

    /// Opens `path` (following a symlink, never creating) and writes `text` through it.
    static func writeInPlace(_ text: String, to path: String) throws {
        var fd: Int32
        repeat { fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC) } while fd < 0 && errno == EINTR
        guard fd >= 0 else { throw WritePathError.system(call: "open", path: path, errno: errno, hint: hintFor(errno: errno)) }
        defer { close(fd) }
        try writeAll(fd, Array(text.utf8), path: path)
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws {
        var done = 0
        while done < bytes.count {
            let r = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + done, bytes.count - done) }
            if r < 0 {
                if errno == EINTR { continue }
                throw WritePathError.system(call: "write", path: path, errno: errno, hint: hintFor(errno: errno))
            }
            done += r
        }
    }

    /// Every component at most NAME_MAX (255) bytes and the whole path below PATH_MAX.
    public static func checkNameLengths(_ path: String, field: String) throws {
        if path.utf8.count >= Int(PATH_MAX) {
            throw WritePathError.invalidInput(
                field: field, message: "the path is \(path.utf8.count) bytes; Linux accepts paths below \(PATH_MAX)")
        }
        for c in path.split(separator: "/") where c.utf8.count > Int(NAME_MAX) {
            throw WritePathError.invalidInput(
                field: field,
                message: "the name \(quoted(clipped(String(c), limit: 40))) is \(c.utf8.count) bytes; Linux accepts at most \(NAME_MAX)")
        }
    }

    static func checkFolderWritable(_ path: String, field: String) throws {
        let parent = (path as NSString).deletingLastPathComponent
        let folder = parent.isEmpty ? "." : parent
        var st = stat()
        guard stat(folder, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR else {
            throw WritePathError.invalidInput(
                field: field, message: "the folder \(quoted(folder)) does not exist; create it or give another path")
        }
        if access(folder, W_OK | X_OK) != 0 {
            let e = errno
            throw WritePathError.invalidInput(
                field: field,
                message:
                    "the folder \(quoted(folder)) cannot be written (\(errnoName(e)): \(String(cString: strerror(e)))); give another path")
        }
    }

    static func unusable(_ path: String, field: String, errno e: Int32) -> WritePathError {
        .invalidInput(
            field: field, message: "\(quoted(path)) cannot be written (\(errnoName(e)): \(String(cString: strerror(e)))); give another path"
        )
    }

    /// Makes sure `path` is a folder writepath can write into, creating it (and its parents) when
    /// missing; throws one `invalidInput` line naming `field` otherwise (a file in the way, a
    /// read-only filesystem, a name too long).
    public static func ensureFolder(_ path: String, field: String) throws {
        guard !path.isEmpty, !path.utf8.contains(0) else { throw WritePathError.invalidInput(field: field, message: "give a folder") }
        try checkNameLengths(path, field: field)
        var prefix = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            prefix += "/\(part)"
            var st = stat()
            if stat(prefix, &st) == 0 {
                guard (st.st_mode & S_IFMT) == S_IFDIR else {
                    throw WritePathError.invalidInput(
                        field: field,
                        message: "\(quoted(prefix == "./\(part)" ? String(part) : prefix)) is not a folder (it is a file); give a folder")
                }
                continue
            }
            let e = errno
            guard e == ENOENT, mkdir(prefix, 0o755) == 0 || errno == EEXIST else {
                let e2 = e == ENOENT ? errno : e
                throw WritePathError.invalidInput(
                    field: field,
                    message:
                        "cannot create the folder \(quoted(path)) (\(errnoName(e2)): \(String(cString: strerror(e2)))); give another folder"
                )
            }
        }
        if access(path, W_OK | X_OK) != 0 {
            let e = errno
            throw WritePathError.invalidInput(
                field: field,
                message:
                    "the folder \(quoted(path)) cannot be written (\(errnoName(e)): \(String(cString: strerror(e)))); give another folder")
        }
    }

    /// Keeps `text` that could not be written where the user asked: a new file in `$TMPDIR`
    /// (else /var/tmp, else /tmp) named `writepath-<name>-<pid>-<n>.<ext>`. Returns its path, or nil.
    public static func rescue(_ text: String, name: String, ext: String) -> String? {
        let env = ProcessInfo.processInfo.environment["TMPDIR"].map { [$0] } ?? []
        for dir in env + ["/var/tmp", "/tmp"] {
            if let p = try? writeNew(text, folder: dir, base: "writepath-\(name)-\(getpid())", ext: ext) { return p }
        }
        return nil
    }

    /// Writes `text` to a file that did not exist, `<folder>/<base>.<ext>` or `<base>-2.<ext>`, ...:
    /// written to a temporary file, fsynced, then linked to the first free name (link(2) never
    /// replaces). Returns the path.
    public static func writeNew(_ text: String, folder: String, base: String, ext: String) throws -> String {
        let tmp = "\(folder)/.\(base).tmp.\(getpid())"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw WritePathError.system(call: "open", path: tmp, errno: errno, hint: hintFor(errno: errno)) }
        defer { unlink(tmp) }
        do {
            try writeAll(fd, Array(text.utf8), path: tmp)
            if fsync(fd) != 0 { throw WritePathError.system(call: "fsync", path: tmp, errno: errno, hint: hintFor(errno: errno)) }
        } catch {
            close(fd)
            throw error
        }
        close(fd)
        var n = 1
        while true {
            let name = "\(folder)/\(base)\(n == 1 ? "" : "-\(n)").\(ext)"
            if link(tmp, name) == 0 { return name }
            guard errno == EEXIST, n < 10_000 else {
                throw WritePathError.system(call: "link", path: name, errno: errno, hint: hintFor(errno: errno))
            }
            n += 1
        }
    }
}
