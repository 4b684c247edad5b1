/// The bytes at the top of a new process's stack, as Linux lays them out for the C runtime:
///
///     sp ->  argc
///            argv[0] ... argv[argc-1], NULL
///            NULL                               (no environment)
///            AT_PAGESZ 4096, AT_RANDOM <addr>, AT_NULL 0
///            ... 16 random bytes, the argument strings ...   <- stackTop
///
/// `sp` is 16-byte aligned, as the RISC-V psABI requires at process entry.
struct InitialStack {
    let stackPointer: UInt32
    let bytes: [UInt8]

    init(arguments: [String], top: UInt32) {
        var strings: [UInt8] = []
        var stringOffsets: [Int] = []
        for argument in arguments {
            stringOffsets.append(strings.count)
            strings += Array(argument.utf8) + [0]
        }
        // Fixed bytes for AT_RANDOM: runs must repeat exactly.
        let random: [UInt8] = (0..<16).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
        let stringsSize = (strings.count + random.count + 15) & ~15
        let stringsAddress = top - UInt32(stringsSize)
        let randomAddress = stringsAddress + UInt32(strings.count)

        var words: [UInt32] = [UInt32(arguments.count)]
        words += stringOffsets.map { stringsAddress + UInt32($0) }
        words += [0, 0]
        words += [6, 4096, 25, randomAddress, 0, 0]
        while (words.count * 4) % 16 != 0 { words.append(0) }

        stackPointer = stringsAddress - UInt32(words.count * 4)
        var image: [UInt8] = []
        for word in words { image += [UInt8(word & 0xFF), UInt8(word >> 8 & 0xFF), UInt8(word >> 16 & 0xFF), UInt8(word >> 24)] }
        image += strings + random
        image += [UInt8](repeating: 0, count: Int(top - stackPointer) - image.count)
        bytes = image
    }
}
