import Hummingbird

/// The page's files, compiled into the binary: nothing to install, nothing fetched from elsewhere.
struct Asset: Sendable {
    let contentType: String
    let bytes: [UInt8]

    var response: Response {
        Response(status: .ok, headers: [.contentType: contentType], body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}

enum Assets {
    static let all: [(path: String, asset: Asset)] = [
        ("/", Asset(contentType: "text/html; charset=utf-8", bytes: PackageResources.index_html)),
        ("/index.html", Asset(contentType: "text/html; charset=utf-8", bytes: PackageResources.index_html)),
        ("/app.js", Asset(contentType: "text/javascript; charset=utf-8", bytes: PackageResources.app_js)),
        ("/app.css", Asset(contentType: "text/css; charset=utf-8", bytes: PackageResources.app_css)),
    ]
}
