import EggloguProtocol

/// Where the server's notices go: the farm's topic on the broker, or a test's list.
public protocol NoticePublisher: Sendable {
    /// Sends `notice` without waiting; a notice that cannot be sent is dropped.
    func publish(_ notice: Notice)
}
