import EggloguHTTP
import Foundation
import HTTPTypes
import Hummingbird

/// Who may use the page: the password when one is set (every request, loopback or not);
/// nobody when the listener is reachable beyond loopback without one; on loopback without a
/// password, only requests whose `Host` is exactly a loopback name, the listen address or a name
/// the operator configured (so a DNS-rebinding page cannot reach it).
/// Every request that changes something also carries the CSRF token.
struct AccessMiddleware<Context: RemoteAddressRequestContext>: RouterMiddleware {
    let configuration: LocalWebConfiguration
    let csrfToken: String
    let throttle: LoginThrottle

    static var csrfHeader: HTTPField.Name { HTTPField.Name("X-CSRF-Token")! }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let password = configuration.password {
            try check(Self.credential(request.headers[.authorization]), against: password, context: context)
        } else if !configuration.isLoopback {
            throw Self.challenge(
                "this page listens beyond loopback without a password: set EGGLOGU_HTTP_PASSWORD_FILE on the gateway"
            )
        } else if !(Self.hostName(request.head.authority).map(configuration.acceptsHostName(_:)) ?? false) {
            throw APIError(
                .forbidden,
                "forbidden-host",
                "without a password the page answers only to localhost, 127.0.0.1, [::1], its listen address and EGGLOGU_HTTP_HOST_NAMES"
            )
        }
        if request.method != .get && request.method != .head {
            guard let token = request.headers[Self.csrfHeader], Self.equal(token, csrfToken) else {
                throw APIError(.forbidden, "csrf", "a missing or stale X-CSRF-Token: fetch /api/session and retry")
            }
        }
        return try await next(request, context)
    }

    /// A request without a password is asked for one; a wrong one counts against its address,
    /// which is locked out for a while after a few (see ``LoginThrottle``).
    private func check(_ given: String?, against password: String, context: Context) throws {
        let challenge = Self.challenge("sign in with the page's password (EGGLOGU_HTTP_PASSWORD_FILE on the gateway)")
        guard let given else { throw challenge }
        let client = LoginThrottle.key(context.remoteAddress)
        let failure: LoginThrottle.Failure
        switch throttle.attempt(client) {
        case .failure(let refused):
            let wait = refused.wait
            let seconds = max(1, Int(wait.components.seconds) + (wait.components.attoseconds > 0 ? 1 : 0))
            throw APIError(
                .tooManyRequests,
                "too-many-attempts",
                "too many wrong passwords from this address: try again in \(seconds) s",
                headers: [.retryAfter: "\(seconds)"]
            )
        case .success(let counted):
            failure = counted
        }
        guard Self.equal(given, password) else {
            context.logger.warning(
                "status page: wrong password",
                metadata: [
                    "client": "\(client)", "failures": "\(failure.failures)",
                    "lockedOutSeconds": "\(failure.lockout.components.seconds)",
                ]
            )
            throw challenge
        }
        throttle.succeeded(client)
    }

    /// A 401 that makes a browser ask for the password.
    private static func challenge(_ message: String) -> APIError {
        APIError(.unauthorized, "unauthorized", message, headers: [.wwwAuthenticate: "Basic realm=\"EGGlogU gateway\", charset=\"UTF-8\""])
    }

    /// The password of `Bearer <password>` or `Basic base64(user:password)`.
    static func credential(_ header: String?) -> String? {
        guard let header else { return nil }
        if header.hasPrefix("Bearer ") { return String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces) }
        guard header.hasPrefix("Basic "), let data = Data(base64Encoded: String(header.dropFirst(6)).trimmingCharacters(in: .whitespaces)),
            let text = String(data: data, encoding: .utf8), let colon = text.firstIndex(of: ":")
        else { return nil }
        return String(text[text.index(after: colon)...])
    }

    /// Compares in time independent of where the first difference is.
    static func equal(_ a: String, _ b: String) -> Bool {
        let (x, y) = (Array(a.utf8), Array(b.utf8))
        var difference = UInt8(x.count == y.count ? 0 : 1)
        for i in 0..<max(x.count, y.count) {
            difference |= (i < x.count ? x[i] : 0) ^ (i < y.count ? y[i] : 0)
        }
        return difference == 0
    }

    /// The host name of a `Host` (`name`, `name:port`, `[v6]`, `[v6]:port`), or nil when it is none of these.
    static func hostName(_ authority: String?) -> String? {
        guard let authority, !authority.isEmpty else { return nil }
        let name: Substring
        let rest: Substring
        if authority.hasPrefix("[") {
            guard let end = authority.firstIndex(of: "]") else { return nil }
            name = authority[...end]
            rest = authority[authority.index(after: end)...]
        } else if let colon = authority.firstIndex(of: ":") {
            name = authority[..<colon]
            rest = authority[colon...]
        } else {
            name = authority[...]
            rest = ""
        }
        guard !name.isEmpty, rest.isEmpty || (rest.count > 1 && rest.hasPrefix(":") && rest.dropFirst().allSatisfy(\.isNumber)) else {
            return nil
        }
        return String(name)
    }
}
