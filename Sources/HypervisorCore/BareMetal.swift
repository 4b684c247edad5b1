import Machine
import RISCV

/// The same image on the bare machine: the baseline every overhead is measured against.
public enum BareMetal {
    public struct Run: Sendable {
        public var instructions: UInt64
        /// The finisher's exit code, or nil if the run did not exit (limit, fault).
        public var exitCode: Int32?
        public var console: [UInt8]
        public var stop: String
    }

    public static func run(_ image: ELFFile, engine: ExecutionEngineKind = .translator, ramSize: Int = 64 << 20,
                           maxInstructions: UInt64? = nil) throws(GuestImageError) -> Run {
        var configuration = MachineConfiguration()
        configuration.engine = engine
        configuration.ramSize = ramSize
        return try run(image, configuration: configuration, maxInstructions: maxInstructions)
    }

    /// The same on a machine built from `configuration` (engine, RAM, ISA flags).
    public static func run(_ image: ELFFile, configuration: MachineConfiguration,
                           maxInstructions: UInt64? = nil) throws(GuestImageError) -> Run {
        final class Sink { var bytes: [UInt8] = [] }
        let sink = Sink()
        let machine: Machine
        do {
            machine = try Machine(configuration: configuration)
            try machine.load(image)
        } catch {
            throw GuestImageError("bare run: \(error)")
        }
        machine.console = ConsoleIO(write: { sink.bytes.append($0) })
        let stop = machine.run(maxInstructions: maxInstructions)
        var code: Int32? = nil
        if case .exited(let exitCode) = stop { code = exitCode }
        return Run(instructions: machine.retiredInstructions, exitCode: code, console: sink.bytes, stop: "\(stop)")
    }
}

