/// The bytes at the top of a new process's stack, as Linux's ELF loader lays them out
/// (fs/binfmt_elf.c `create_elf_tables`, and the psABI's process-initialization figure):
///
///     stackPointer ->  argc
///                      argv[0] ... argv[argc-1], NULL
///                      envp[0] ... envp[n-1], NULL
///                      auxv: (type, value) pairs ..., (AT_NULL, 0)
///                      padding to 16 bytes
///                      16 random bytes (AT_RANDOM points here)
///                      padding
///                      argument strings, environment strings, the executable name (AT_EXECFN)
///     top - 4 ->       a zero word
///
/// `stackPointer` is 16-byte aligned, as the RISC-V psABI requires at process entry.
/// Building it is a pure function of its inputs: the same arguments give the same bytes.
struct InitialStack: Equatable {
    /// An auxiliary-vector value; two of them are addresses inside this stack.
    enum AuxiliaryValue: Equatable {
        case value(UInt32)
        case randomBytesAddress
        case executableNameAddress
    }

    /// The bytes from `stackPointer` up to `top`.
    var bytes: [UInt8]
    var stackPointer: UInt32
    var top: UInt32
    /// Where argv[0] ... and envp[0] ... point (for tests and traces).
    var argumentAddresses: [UInt32]
    var environmentAddresses: [UInt32]

    init(top: UInt32, arguments: [String], environment: [String], executableName: String,
         randomBytes: [UInt8], auxiliaryVector: [(type: UInt32, value: AuxiliaryValue)]) throws(LinuxError) {
        precondition(randomBytes.count == 16, "AT_RANDOM points at exactly 16 bytes")
        precondition(top % 16 == 0, "the stack top must be 16-byte aligned")
        func cString(_ s: String, _ what: String) throws(LinuxError) -> [UInt8] {
            let utf8 = Array(s.utf8)
            guard !utf8.contains(0) else {
                throw LinuxError("\(what) contains a NUL byte, which a C string cannot hold")
            }
            return utf8 + [0]
        }
        var argumentStrings: [[UInt8]] = []
        for (i, a) in arguments.enumerated() { argumentStrings.append(try cString(a, "argument \(i)")) }
        var environmentStrings: [[UInt8]] = []
        for e in environment { environmentStrings.append(try cString(e, "environment entry \"\(e.prefix(40))\"")) }
        let name = try cString(executableName, "the executable name")

        let stringBytes = argumentStrings.reduce(0) { $0 + $1.count } + environmentStrings.reduce(0) { $0 + $1.count } + name.count
        let pointerCount = 1 + (arguments.count + 1) + (environment.count + 1) + 2 * (auxiliaryVector.count + 1)
        guard stringBytes + 4 * pointerCount <= LinuxUserLayout.argumentSpaceLimit else {
            throw LinuxError("arguments and environment take \(stringBytes + 4 * pointerCount) bytes; "
                + "the limit is \(LinuxUserLayout.argumentSpaceLimit) (a quarter of the 8 MiB stack)")
        }

        // Addresses, from the top down. All arithmetic is on Int: the sizes are bounded above.
        var cursor = Int(top) - 4                       // the zero word at the very top
        cursor -= name.count
        let nameAddress = cursor
        var environmentAddresses = [Int](repeating: 0, count: environmentStrings.count)
        for i in environmentStrings.indices.reversed() {
            cursor -= environmentStrings[i].count
            environmentAddresses[i] = cursor
        }
        var argumentAddresses = [Int](repeating: 0, count: argumentStrings.count)
        for i in argumentStrings.indices.reversed() {
            cursor -= argumentStrings[i].count
            argumentAddresses[i] = cursor
        }
        cursor &= ~15
        cursor -= 16
        let randomAddress = cursor
        cursor -= 4 * pointerCount
        cursor &= ~15
        let stackPointer = cursor

        var bytes = [UInt8](repeating: 0, count: Int(top) - stackPointer)
        func put(_ data: [UInt8], at address: Int) {
            bytes.replaceSubrange(address - stackPointer ..< address - stackPointer + data.count, with: data)
        }
        func putWord(_ value: UInt32, at address: Int) {
            put([UInt8(truncatingIfNeeded: value), UInt8(truncatingIfNeeded: value >> 8),
                 UInt8(truncatingIfNeeded: value >> 16), UInt8(truncatingIfNeeded: value >> 24)], at: address)
        }
        put(name, at: nameAddress)
        for (s, a) in zip(environmentStrings, environmentAddresses) { put(s, at: a) }
        for (s, a) in zip(argumentStrings, argumentAddresses) { put(s, at: a) }
        put(randomBytes, at: randomAddress)

        var slot = stackPointer
        func push(_ value: UInt32) {
            putWord(value, at: slot)
            slot += 4
        }
        push(UInt32(arguments.count))
        for a in argumentAddresses { push(UInt32(a)) }
        push(0)
        for e in environmentAddresses { push(UInt32(e)) }
        push(0)
        for (type, value) in auxiliaryVector {
            push(type)
            switch value {
            case .value(let v): push(v)
            case .randomBytesAddress: push(UInt32(randomAddress))
            case .executableNameAddress: push(UInt32(nameAddress))
            }
        }
        push(AuxiliaryVectorType.null)
        push(0)

        self.bytes = bytes
        self.stackPointer = UInt32(stackPointer)
        self.top = top
        self.argumentAddresses = argumentAddresses.map { UInt32($0) }
        self.environmentAddresses = environmentAddresses.map { UInt32($0) }
    }
}
