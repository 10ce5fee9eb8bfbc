import Foundation

/// The broker users and ACL blocks of a farm, in the `acl_file` format of mosquitto 2.0 that
/// `mosquitto/central.acl` and `mosquitto/gateway.acl` document.
public enum BrokerACL {
    /// `device@farm`: the username a device logs in with.
    public static func username(device: String, farm: String) -> String { "\(device)@\(farm)" }

    /// The username of a farm's gateway-broker bridge on the central broker.
    public static func bridgeUsername(farm: String) -> String { "bridge@\(farm)" }

    /// A device reads its farm's changes (which the server alone writes), may use its farm's plain
    /// notices and sensors, reads its farm's presence and writes its own.
    public static func deviceBlock(device: String, farm: String) -> String {
        """
        user \(username(device: device, farm: farm))
        topic read egglogu/\(farm)/changes
        topic readwrite egglogu/\(farm)/sync
        topic read egglogu/\(farm)/devices/+/status
        topic readwrite egglogu/\(farm)/devices/\(device)/status
        topic readwrite egglogu/\(farm)/sensors/#

        """
    }

    /// A gateway broker's bridge carries its farm's topics, and nothing else; the farm's changes
    /// only inwards (the server alone writes them).
    public static func bridgeBlock(farm: String) -> String {
        """
        user \(bridgeUsername(farm: farm))
        topic read egglogu/\(farm)/changes
        topic readwrite egglogu/\(farm)/sync
        topic readwrite egglogu/\(farm)/devices/#
        topic readwrite egglogu/\(farm)/sensors/#

        """
    }

    /// `acl` with `user`'s block (if any) replaced by `block`, appended at the end.
    public static func replacingBlock(of user: String, in acl: String, with block: String) -> String {
        var kept: [Substring] = []
        var skipping = false
        for line in acl.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("user ") { skipping = line.dropFirst(5).trimmingCharacters(in: .whitespaces) == user }
            if !skipping { kept.append(line) }
        }
        while kept.last?.isEmpty == true { kept.removeLast() }
        return kept.joined(separator: "\n") + "\n\n" + block
    }

    /// `passwd` with `user`'s line (if any) replaced by `line`.
    public static func replacingLine(of user: String, in passwd: String, with line: String) -> String {
        let kept = passwd.split(separator: "\n").filter { !$0.hasPrefix(user + ":") && !$0.isEmpty }
        return (kept.map(String.init) + [line]).joined(separator: "\n") + "\n"
    }
}
