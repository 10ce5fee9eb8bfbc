import ArgumentParser

@main
struct EggloguSyncServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "egglogu-sync-server",
        abstract: "Serves the EGGlogU delta-sync protocol for many farms.",
        discussion: """
            Every option can also come from EGGLOGU_SYNC_<OPTION> (e.g. EGGLOGU_SYNC_PORT, EGGLOGU_SYNC_DATA_DIR); \
            a flag overrides the environment. Exit codes follow sysexits(3).
            """,
        subcommands: [
            ServeCommand.self, ProvisionCommand.self, ConfigCommand.self, TokenCommand.self, RevokeCommand.self, DevicesCommand.self,
            BackupCommand.self,
        ],
        defaultSubcommand: ServeCommand.self
    )
}
