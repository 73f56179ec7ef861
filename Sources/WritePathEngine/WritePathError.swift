#if canImport(Glibc)
    import Glibc
#endif

/// Every failure writepath reports. Each case maps to one exit code:
/// `invalidInput` exits 2, every other case exits 1.
public enum WritePathError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The user gave a value writepath cannot accept. `field` names the option, job-file key
    /// or file; `message` says what would be accepted.
    case invalidInput(field: String, message: String)
    /// A system call failed. `call` is the call's name, `path` the file it acted on,
    /// `errno` the C errno, and `hint` what the user can do about it (may be empty).
    case system(call: String, path: String, errno: Int32, hint: String)
    /// An I/O completed with an error or transferred fewer bytes than asked.
    case io(operation: String, path: String, offset: UInt64, expected: Int, result: Int, hint: String)
    /// writepath refused to act because it would destroy data the user had.
    case refused(field: String, message: String)

    /// The process exit code for this error: 2 for invalid input or a refusal, 1 otherwise.
    public var exitCode: Int32 {
        switch self {
        case .invalidInput, .refused: return 2
        case .system, .io: return 1
        }
    }

    public var description: String {
        switch self {
        case let .invalidInput(field, message):
            return "invalid \(field): \(message)"
        case let .refused(field, message):
            return "refused (\(field)): \(message)"
        case let .system(call, path, errno, hint):
            let name = errnoName(errno)
            let where_ = path.isEmpty ? "" : " on \(path)"
            let suffix = hint.isEmpty ? "" : ": \(hint)"
            return "\(call)\(where_) failed: \(name) (\(String(cString: strerror(errno))))\(suffix)"
        case let .io(operation, path, offset, expected, result, hint):
            let what: String
            if result < 0 {
                let e = Int32(-result)
                what = "\(errnoName(e)) (\(String(cString: strerror(e))))"
            } else {
                what = "short transfer of \(result) of \(expected) bytes"
            }
            let suffix = hint.isEmpty ? "" : ": \(hint)"
            return "\(operation) on \(path) at offset \(offset) failed: \(what)\(suffix)"
        }
    }
}

/// The symbolic name of an errno value (`EINVAL`), or `errno N` when unknown.
public func errnoName(_ code: Int32) -> String {
    let names: [Int32: String] = [
        EPERM: "EPERM", ENOENT: "ENOENT", EINTR: "EINTR", EIO: "EIO", ENXIO: "ENXIO",
        EBADF: "EBADF", EAGAIN: "EAGAIN", ENOMEM: "ENOMEM", EACCES: "EACCES", EFAULT: "EFAULT",
        EBUSY: "EBUSY", EEXIST: "EEXIST", ENODEV: "ENODEV", ENOTDIR: "ENOTDIR", EISDIR: "EISDIR",
        EINVAL: "EINVAL", EMFILE: "EMFILE", ENOTTY: "ENOTTY", EFBIG: "EFBIG", ENOSPC: "ENOSPC",
        ESPIPE: "ESPIPE", EROFS: "EROFS", ENOSYS: "ENOSYS", EOPNOTSUPP: "EOPNOTSUPP",
        ENODATA: "ENODATA", EDQUOT: "EDQUOT", ETIMEDOUT: "ETIMEDOUT", ECANCELED: "ECANCELED",
    ]
    return names[code] ?? "errno \(code)"
}

/// A hint for common errno values of a write path.
public func hintFor(errno code: Int32) -> String {
    switch code {
    case ENOSPC, EDQUOT: return "the target's filesystem is full; use a smaller --size or another --filename"
    case EACCES, EPERM: return "check the permissions of the target or run as a user that may write it"
    case EINVAL: return "the target may not support O_DIRECT at this alignment; try --direct=0 or a larger --bs"
    case EROFS: return "the target is on a read-only filesystem"
    case ENOENT: return "check that the path exists"
    default: return ""
    }
}
