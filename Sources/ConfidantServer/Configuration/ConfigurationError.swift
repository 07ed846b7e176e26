/// A configuration or start-up problem the operator must fix; the message says how.
public struct ConfigurationError: Error, CustomStringConvertible, Sendable {
    /// What is wrong and how to fix it.
    public let description: String

    /// Creates an error with an operator-facing message.
    public init(_ description: String) {
        self.description = description
    }
}
