// The emulated RV32 computer. See Hart.swift, Bus.swift.
