/// A grading failure that stops the work it is about, with a one-line message naming the input and the problem
/// (`vlab grade` prints it as `Error: <message>`). Failures of the *student's* code are never errors: they are
/// results (`TestOutcome`), written into the report.
public struct GradingError: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
