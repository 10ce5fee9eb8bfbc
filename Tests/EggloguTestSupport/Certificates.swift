import Foundation

/// A private CA and a certificate for 127.0.0.1 signed by it, made with the openssl command.
public enum Certificates {
    /// Writes `ca.pem`, `ca.key`, `server.pem` and `server.key` into `directory`.
    public static func make(in directory: TemporaryDirectory) throws {
        let script = """
            set -e
            cd '\(directory.path)'
            openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj '/CN=egglogu test CA' \
              -keyout ca.key -out ca.pem 2>/dev/null
            openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj '/CN=127.0.0.1' \
              -keyout server.key -out server.csr 2>/dev/null
            printf 'subjectAltName=IP:127.0.0.1\\nbasicConstraints=CA:FALSE\\n' > ext.cnf
            openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile ext.cnf -out server.pem 2>/dev/null
            chmod 644 server.key
            """
        guard try ChildProcess("/bin/sh", ["-c", script]).waitForExit().status == 0 else { throw CocoaError(.fileWriteUnknown) }
    }
}
