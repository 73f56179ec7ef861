import Foundation
import WritePathEngine

#if canImport(Glibc)
    import Glibc
#endif

/// The scratch folder of one matrix or sweep session: a folder writepath makes under the scratch
/// root and removes afterwards. It is removed only when this session created it (mkdir succeeded)
/// and its resolved path lies strictly inside the resolved scratch root: a name taken from the
/// user (`--resume ..`) can never make it the root itself or a folder above it.
public struct ScratchFolder: Sendable {
    /// The folder (absolute, resolved).
    public let path: String
    /// The resolved scratch root it lies in.
    public let root: String

    /// Makes a new folder under `root` named after the run folder `runDirectory` (its resolved
    /// last component, made file-name-safe), with `-2`, `-3` ... when a folder of that name exists.
    public static func make(root: String, for runDirectory: String) throws -> ScratchFolder {
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        guard let resolvedRoot = resolved(root) else {
            throw WritePathError.system(call: "realpath", path: root, errno: errno, hint: hintFor(errno: errno))
        }
        let base = safeName(resolved(runDirectory) ?? runDirectory)
        var name = base
        var n = 2
        while true {
            let candidate = "\(resolvedRoot)/\(name)"
            if mkdir(candidate, 0o755) == 0 { return ScratchFolder(path: candidate, root: resolvedRoot) }
            let e = errno
            guard e == EEXIST, n < 1000 else {
                throw WritePathError.system(call: "mkdir", path: candidate, errno: e, hint: hintFor(errno: e))
            }
            name = "\(base)-\(n)"
            n += 1
        }
    }

    /// The last component of `path` with every character but letters, digits, `-`, `_` and `.`
    /// replaced by `_`, never empty, `.` or `..`, at most 200 bytes.
    static func safeName(_ path: String) -> String {
        let last = (path as NSString).lastPathComponent
        var s = String(last.map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == ".") ? $0 : "_" })
        while s.utf8.count > 200 { s.removeLast() }
        if s.isEmpty || s.allSatisfy({ $0 == "." }) { s = "run" }
        return s
    }

    /// `path` with every symlink, `.` and `..` resolved (realpath(3)), or nil when it does not exist.
    public static func resolved(_ path: String) -> String? {
        guard let r = realpath(path, nil) else { return nil }
        defer { free(r) }
        return String(cString: r)
    }

    /// Whether `path`, resolved, lies strictly inside `root` (resolved).
    public static func isInside(_ path: String, root: String) -> Bool {
        guard let p = resolved(path), let r = resolved(root) else { return false }
        let prefix = r == "/" ? "/" : r + "/"
        return p.hasPrefix(prefix) && p.count > prefix.count
    }

    /// Removes the folder and what is in it, when it still lies inside the root.
    public func remove() {
        guard Self.isInside(path, root: root) else { return }
        try? FileManager.default.removeItem(atPath: path)
    }
}
