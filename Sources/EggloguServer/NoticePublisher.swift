import EggloguProtocol

/// Where the server's notices go: the farm's topics on the broker, or a test's list.
public protocol NoticePublisher: Sendable {
    /// Sends `notice` without waiting; a notice that cannot be sent is dropped (devices poll).
    ///
    /// - Parameter inline: the notice with its changes (``Notice/bytes(before:changes:limit:)``),
    ///   for the `changes` topic; nil sends the plain notice there too.
    func publish(_ notice: Notice, inline: [UInt8]?)
}
