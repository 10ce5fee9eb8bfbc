import ArgumentParser

@main
struct EggloguAgent: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "egglogu-agent",
        abstract: "Keeps an EGGlogU farm's records in a local replica and syncs them.",
        discussion: """
            Exit codes follow sysexits(3): 64 usage, 65 bad data, 66 missing input, record or replica, \
            69 server or broker unavailable, 73 cannot create output, 74 I/O error, 75 replica busy, \
            76 protocol error, 77 token refused, 78 configuration error.
            """,
        subcommands: [
            ImportCommand.self, ExportCommand.self, GetCommand.self, PutCommand.self, DeleteCommand.self,
            RestoreCommand.self, DeletedCommand.self, ConflictsCommand.self, ResolveCommand.self, StatusCommand.self, SyncCommand.self,
            RunCommand.self,
            ConfigCommand.self,
        ]
    )
}
