import EggloguJSON
import Hummingbird
import NIOCore

/// Request and response bodies as JSON, with the size and depth limits bad input needs.
public enum JSONBody {
    /// Reads and parses the body; 413 above `limit` bytes or `maxValues` values, 400 for malformed or
    /// too deeply nested JSON.
    public static func read(_ request: Request, limit: Int, maxValues: Int = .max) async throws -> JSONValue {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
            throw APIError(.contentTooLarge, "payload-too-large", "the body is \(length) bytes; the limit is \(limit)")
        }
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw APIError(.contentTooLarge, "payload-too-large", "the body is larger than \(limit) bytes")
        }
        let parsed = buffer.withUnsafeReadableBytes { bytes in
            Result { () throws(JSONParseError) in try JSONParser(maxValues: maxValues).parse(bytes) }
        }
        switch parsed {
        case .success(let value):
            return value
        case .failure(let error) where error.kind == .tooManyValues:
            throw APIError(.contentTooLarge, "too-many-values", "the body holds more than \(maxValues) JSON values")
        case .failure(let error):
            throw APIError(.badRequest, error.kind == .tooDeep ? "too-deep" : "malformed-json", "\(error)")
        }
    }

    public static func encode(_ value: JSONValue) -> [UInt8] {
        value.serialized()
    }

    public static func response(_ bytes: [UInt8], status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status,
            headers: [.contentType: "application/json; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes))
        )
    }

    public static func response(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        response(encode(value), status: status)
    }
}
