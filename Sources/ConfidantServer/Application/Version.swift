/// Confidant's release version.
public enum ConfidantVersion {
    /// The version string printed by `confidant version`.
    public static let current = "0.1.0"
}
