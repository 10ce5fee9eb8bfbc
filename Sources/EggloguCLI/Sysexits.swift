import ArgumentParser

/// sysexits(3) codes: the one list of exit codes both programs use.
public enum Sysexits {
    /// A command was used wrongly (a flag out of range).
    public static let usage = ExitCode(64)
    /// The input data was wrong: malformed JSON, a bad record, a bad name.
    public static let dataError = ExitCode(65)
    /// An input (a replica, a record, a file) does not exist or cannot be read.
    public static let noInput = ExitCode(66)
    /// A service (the server, the broker) could not be reached.
    public static let unavailable = ExitCode(69)
    /// An internal failure.
    public static let software = ExitCode(70)
    /// An output file cannot be created.
    public static let cannotCreate = ExitCode(73)
    /// Reading or writing failed (a full disk among others).
    public static let ioError = ExitCode(74)
    /// A temporary failure (a busy replica): try again.
    public static let tempFail = ExitCode(75)
    /// The other side did not speak the protocol.
    public static let protocolError = ExitCode(76)
    /// Permission denied (a refused token).
    public static let noPermission = ExitCode(77)
    /// The configuration is wrong.
    public static let config = ExitCode(78)
}
