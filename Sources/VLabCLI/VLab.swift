import ArgumentParser

/// The `vlab` command: every subcommand lives in this library so tests can run them
/// in-process (`VLab.parseAsRoot([...])`); the executable is a two-line `main`.
public struct VLab: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "vlab",
        abstract: "VirtLab: learn virtualization by building it, on an emulated RISC-V computer.",
        discussion: """
            Start with `vlab boot`: it boots the demo guest on the emulated `virt` board.
            """,
        version: "0.1.0",
        subcommands: [Boot.self, Run.self, Asm.self, Disasm.self, Bench.self, ContainerCommand.self,
                      Test.self, Release.self, Grade.self])

    public init() {}
}
