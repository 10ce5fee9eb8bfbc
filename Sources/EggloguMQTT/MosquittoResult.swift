import CMosquitto

/// A libmosquitto result code. Match it with the static members: `case .noConnection`.
public struct MosquittoResult: Sendable, Equatable, CustomStringConvertible {
    public let rawValue: Int32

    public init(_ rawValue: Int32) {
        self.rawValue = rawValue
    }

    public static let success = MosquittoResult(Int32(MOSQ_ERR_SUCCESS.rawValue))
    public static let noConnection = MosquittoResult(Int32(MOSQ_ERR_NO_CONN.rawValue))
    public static let connectionRefused = MosquittoResult(Int32(MOSQ_ERR_CONN_REFUSED.rawValue))
    public static let connectionLost = MosquittoResult(Int32(MOSQ_ERR_CONN_LOST.rawValue))
    public static let tls = MosquittoResult(Int32(MOSQ_ERR_TLS.rawValue))
    public static let errno = MosquittoResult(Int32(MOSQ_ERR_ERRNO.rawValue))
    public static let lookup = MosquittoResult(Int32(MOSQ_ERR_EAI.rawValue))
    public static let invalid = MosquittoResult(Int32(MOSQ_ERR_INVAL.rawValue))
    public static let payloadSize = MosquittoResult(Int32(MOSQ_ERR_PAYLOAD_SIZE.rawValue))

    public static func ~= (pattern: MosquittoResult, value: MosquittoResult) -> Bool {
        pattern == value
    }

    public var description: String { String(cString: mosquitto_strerror(rawValue)) }
}

/// An MQTT failure: which call failed, and how.
public struct MQTTError: Error, Sendable, CustomStringConvertible {
    public let operation: String
    public let result: MosquittoResult

    public var description: String { "\(operation): \(result)" }
}

/// Every libmosquitto call goes through here: anything but success throws.
@discardableResult
func check(_ rawValue: Int32, _ operation: @autoclosure () -> String) throws(MQTTError) -> MosquittoResult {
    let result = MosquittoResult(rawValue)
    guard result == .success else { throw MQTTError(operation: operation(), result: result) }
    return result
}
