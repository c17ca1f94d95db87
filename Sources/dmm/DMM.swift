import ArgumentParser

@main
struct DMM: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dmm",
        abstract: "Distributed Mobility Management: mobility anchors on the access routers.",
        subcommands: [LabCommand.self, MARCommand.self, LMSCommand.self, ControllerCommand.self, AgentCommand.self, CtlCommand.self, WireCommand.self, BenchCommand.self]
    )
}
