import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTPTypes

/// How long a connection may take over each part of a request before it is closed.
public struct ConnectionTimeouts: Sendable, Equatable {
    /// Between requests (and before the first): an idle keep-alive connection is closed.
    public var idle: Duration = .seconds(30)
    /// From a request's first byte to its complete head.
    public var header: Duration = .seconds(10)
    /// From a request's head to the end of its body.
    public var body: Duration = .seconds(60)
    /// How long an answer may wait for a client that stops reading it (the connection's send
    /// buffer full): a streamed answer holds a heavy-request permit while it waits.
    public var send: Duration = .seconds(60)

    public init() {}
}

/// HTTP/1 with the server's connection deadlines: the idle timeout is Hummingbird's own; the
/// header and body deadlines are two handlers that share one clock per connection, one before the
/// HTTP decoder (it sees a request's first byte) and one after it (it sees the head and the end).
/// Without them 300 idle or trickling connections held their descriptors for good, and `/healthz`
/// could no longer be accepted.
struct DeadlineHTTP1Channel: ServerChildChannel {
    let base: HTTP1Channel
    let timeouts: ConnectionTimeouts

    static func builder(_ timeouts: ConnectionTimeouts) -> HTTPServerBuilder {
        HTTPServerBuilder { responder in
            DeadlineHTTP1Channel(
                base: HTTP1Channel(
                    responder: responder,
                    configuration: .init(
                        additionalChannelHandlers: [RequestDeadlineHandler()],
                        idleTimeout: TimeAmount(timeouts.idle)
                    )
                ),
                timeouts: timeouts
            )
        }
    }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<HTTP1Channel.Value> {
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(FirstByteDeadlineHandler(timeouts: timeouts))
        }.flatMap { base.setup(channel: channel, logger: logger) }
    }

    func handle(value: HTTP1Channel.Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

/// Before the HTTP decoder: starts the header deadline at the first byte of a request, and closes
/// the connection when the header or body deadline passes, or when the client has left the answer
/// unread (the channel unwritable) for the send deadline.
final class FirstByteDeadlineHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private enum Phase {
        case awaitingRequest
        case readingHead
        case readingBody
        case answering
    }

    private let timeouts: ConnectionTimeouts
    private var phase = Phase.awaitingRequest
    /// The answer went out before the request's body ended (a 401, say): the body still runs
    /// against its deadline, and the next request starts once it has ended.
    private var answeredEarly = false
    private var deadline: Scheduled<Void>?
    private var sendDeadline: Scheduled<Void>?
    private var context: ChannelHandlerContext?

    init(timeouts: ConnectionTimeouts) {
        self.timeouts = timeouts
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
        sendDeadline?.cancel()
        self.context = nil
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        sendDeadline?.cancel()
        sendDeadline = nil
        if !context.channel.isWritable {
            sendDeadline = context.eventLoop.assumeIsolatedUnsafeUnchecked().scheduleTask(in: TimeAmount(timeouts.send)) {
                context.close(promise: nil)
            }
        }
        context.fireChannelWritabilityChanged()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if phase == .awaitingRequest {
            phase = .readingHead
            arm(timeouts.header)
        }
        context.fireChannelRead(data)
    }

    /// The decoder produced the head: the body's deadline runs from now.
    func headReceived() {
        phase = .readingBody
        arm(timeouts.body)
    }

    /// The body is complete: the answer takes as long as it takes.
    func bodyReceived() {
        phase = answeredEarly ? .awaitingRequest : .answering
        answeredEarly = false
        deadline?.cancel()
        deadline = nil
    }

    /// The answer is sent: the next request's first byte starts the clock again.
    func answered() {
        guard phase == .answering || phase == .awaitingRequest else {
            answeredEarly = true
            return
        }
        phase = .awaitingRequest
        deadline?.cancel()
        deadline = nil
    }

    private func arm(_ duration: Duration) {
        deadline?.cancel()
        guard let context else { return }
        deadline = context.eventLoop.assumeIsolatedUnsafeUnchecked().scheduleTask(in: TimeAmount(duration)) { [weak self] in
            guard let self, self.phase == .readingHead || self.phase == .readingBody else { return }
            context.close(promise: nil)
        }
    }
}

/// After the HTTP decoder: tells the deadline handler where the request stands.
final class RequestDeadlineHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private var clock: FirstByteDeadlineHandler?

    func handlerAdded(context: ChannelHandlerContext) {
        clock = try? context.pipeline.syncOperations.handler(type: FirstByteDeadlineHandler.self)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head: clock?.headReceived()
        case .end: clock?.bodyReceived()
        case .body: break
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { clock?.answered() }
        context.write(data, promise: promise)
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
