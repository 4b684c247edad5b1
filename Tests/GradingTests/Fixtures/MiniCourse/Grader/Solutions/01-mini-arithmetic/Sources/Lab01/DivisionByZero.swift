/// Thrown by `divide` for a zero divisor. Not a student file: the lab provides it.
public struct DivisionByZero: Error, Equatable {
    public init() {}
}
