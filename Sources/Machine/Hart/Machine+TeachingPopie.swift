import RISCV

extension Machine {
    /// Executes a custom-0 word at `pc`. The only custom-0 instruction is the teaching variant's
    /// `vlab.popie rs1` (RISCV/TeachingExtension.swift), and only when the configuration asks for
    /// it; everything else is an illegal instruction, exactly as on real RV32.
    ///
    /// Both engines come here: the interpreter for the custom-0 opcode, the block translator by
    /// handing the instruction to the interpreter (`.interpret`), because enabling interrupts may
    /// make one deliverable at once, and `Machine.run` checks for that only between runs.
    func executeCustomZero(_ word: UInt32, pc: UInt32) {
        let s = state
        guard configuration.implementsTeachingPopie,
              word & TeachingExtension.popieMask == TeachingExtension.popieMatch else {
            return raiseException(ExceptionCause.illegalInstruction, value: word, pc: pc)
        }
        // M- and S-mode: the mode's own enable bit (MIE or SIE, same position in the source
        // register as in mstatus). U-mode: nothing at all, and no trap: the silent failure the
        // instruction exists to demonstrate.
        if let bit = TeachingExtension.popieStatusBit(privilegeLevel: s.pointee.privilege.rawValue) {
            let source = s.pointee.registers[Int(word >> 15 & 31)]
            s.pointee.mstatus = s.pointee.mstatus & ~bit | source & bit
        }
        s.pointee.pc = pc &+ 4
        s.pointee.retired &+= 1
    }
}
