/// A problem in assembly source, located at a file and line.
///
/// Its description is one line, `file:line: message`, the shape compilers use, so editors
/// and terminals can jump to the spot.
public struct AssemblyError: Error, Equatable, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var message: String

    public init(file: String, line: Int, message: String) {
        self.file = file
        self.line = line
        self.message = message
    }

    public var description: String { "\(file):\(line): \(message)" }
}
