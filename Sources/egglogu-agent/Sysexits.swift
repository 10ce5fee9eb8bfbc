import ArgumentParser

/// sysexits(3) codes.
enum Sysexits {
    static let usage = ExitCode(64)
    static let dataError = ExitCode(65)
    static let noInput = ExitCode(66)
    static let unavailable = ExitCode(69)
    static let software = ExitCode(70)
    static let cannotCreate = ExitCode(73)
    static let ioError = ExitCode(74)
    static let tempFail = ExitCode(75)
    static let protocolError = ExitCode(76)
    static let noPermission = ExitCode(77)
    static let config = ExitCode(78)
}
