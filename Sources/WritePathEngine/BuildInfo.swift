import CWritePathShims

/// The version and commit writepath was built from.
public enum BuildInfo {
    public static let version = "0.1.0"
    /// The git commit of the build (with `-dirty` when the tree had changes), or `unknown`.
    public static var gitCommit: String { String(cString: wp_git_commit()) }
}
