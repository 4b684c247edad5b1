/// What a skeleton's TODO throws: the message tells the student which function to write.
public struct Unimplemented: Error, CustomStringConvertible {
    public let function: String
    public init(_ function: String) { self.function = function }
    public var description: String { "TODO: \(function) is not written yet (see the lab handout)" }
}
