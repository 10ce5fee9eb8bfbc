#!/usr/bin/env python3
"""Browser-style MQTT over (secure) WebSockets probe, python3 standard library only.

usage: mosquitto/ws-probe.py --port N [--host H] [--cafile CA | --insecure | --no-tls]
           [-u USER -P PASS] [--client-id ID] [--path /mqtt] [--server-name NAME]
           [--subscribe TOPIC [--qos 0|1]] [--publish TOPIC --message TEXT [--qos 0|1] [--retain]]
           [--header 'Name: value' ...] [--timeout SECONDS] [--quiet]

Does what a browser MQTT client (e.g. mqtt.js over wss://) does: TLS, an HTTP/1.1
Upgrade with `Sec-WebSocket-Protocol: mqtt`, then MQTT 3.1.1 packets in masked binary
WebSocket frames. It sends CONNECT (clean session, keep-alive 60 s) and reads CONNACK.
  --subscribe TOPIC  then SUBSCRIBE, print `ws-probe: subscribed` on stderr once the
                     SUBACK is in, wait for one PUBLISH and print `TOPIC PAYLOAD` on
                     stdout (like mosquitto_sub -v). Retained messages count.
  --publish TOPIC    then PUBLISH --message TEXT (at --qos; QoS 1 waits for PUBACK).
Both may be given: it subscribes first, then publishes, then waits.
Exit codes: 0 CONNACK accepted (and the message arrived / was acknowledged);
  1 CONNACK refused (return code printed); 2 network, TLS or WebSocket handshake error;
  3 timed out (no CONNACK, SUBACK, PUBACK or PUBLISH within --timeout, default 5 s);
  4 SUBACK refused the subscription (0x80); 64 usage error.
"""
import argparse
import base64
import hashlib
import os
import socket
import ssl
import struct
import sys
import time

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
CONNACK_CODES = {
    0: "accepted", 1: "unacceptable protocol version", 2: "identifier rejected",
    3: "server unavailable", 4: "bad user name or password", 5: "not authorized",
}


class Timeout(Exception):
    pass


class ProbeError(Exception):
    pass


def mqtt_string(s: str) -> bytes:
    b = s.encode("utf-8")
    return struct.pack("!H", len(b)) + b


def remaining_length(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def packet(first: int, body: bytes) -> bytes:
    return bytes([first]) + remaining_length(len(body)) + body


class WSConn:
    def __init__(self, sock, deadline):
        self.sock = sock
        self.deadline = deadline
        self.raw = b""      # bytes read from the socket, not yet parsed as frames
        self.stream = b""   # WebSocket payload bytes, not yet parsed as MQTT packets

    def _recv(self):
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise Timeout()
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            raise Timeout()
        if not data:
            raise ProbeError("connection closed by the broker")
        self.raw += data

    def handshake(self, host_header, path, extra_headers):
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [f"GET {path} HTTP/1.1", f"Host: {host_header}", "Upgrade: websocket",
                 "Connection: Upgrade", f"Sec-WebSocket-Key: {key}",
                 "Sec-WebSocket-Version: 13", "Sec-WebSocket-Protocol: mqtt"]
        lines += extra_headers
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        while b"\r\n\r\n" not in self.raw:
            self._recv()
        head, self.raw = self.raw.split(b"\r\n\r\n", 1)
        head = head.decode("latin-1").split("\r\n")
        if not head[0].startswith("HTTP/1.1 101"):
            raise ProbeError(f"WebSocket upgrade refused: {head[0]!r}")
        headers = {}
        for h in head[1:]:
            k, _, v = h.partition(":")
            headers[k.strip().lower()] = v.strip()
        want = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
        if headers.get("sec-websocket-accept") != want:
            raise ProbeError("bad Sec-WebSocket-Accept")
        if headers.get("sec-websocket-protocol", "").lower() != "mqtt":
            raise ProbeError(f"subprotocol not mqtt: {headers.get('sec-websocket-protocol')!r}")

    def send_frame(self, payload: bytes, opcode=0x2):
        mask = os.urandom(4)
        n = len(payload)
        if n < 126:
            head = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
        elif n < 65536:
            head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
        else:
            head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(head + mask + masked)

    def _read_frame(self):
        while True:
            if len(self.raw) >= 2:
                b0, b1 = self.raw[0], self.raw[1]
                n, pos = b1 & 0x7F, 2
                if n == 126 and len(self.raw) >= 4:
                    n, pos = struct.unpack("!H", self.raw[2:4])[0], 4
                elif n == 127 and len(self.raw) >= 10:
                    n, pos = struct.unpack("!Q", self.raw[2:10])[0], 10
                elif n >= 126:
                    n = None
                if n is not None:
                    if b1 & 0x80:
                        pos += 4  # servers must not mask; tolerate it anyway
                    if len(self.raw) >= pos + n:
                        payload = self.raw[pos:pos + n]
                        if b1 & 0x80:
                            m = self.raw[pos - 4:pos]
                            payload = bytes(b ^ m[i % 4] for i, b in enumerate(payload))
                        self.raw = self.raw[pos + n:]
                        return b0 & 0x0F, payload
            self._recv()

    def read_packet(self):
        """Return (first byte, body) of the next MQTT packet."""
        while True:
            if len(self.stream) >= 2:
                mult, value, i = 1, 0, 1
                complete = False
                while i < len(self.stream) and i <= 4:
                    b = self.stream[i]
                    value += (b & 0x7F) * mult
                    mult *= 128
                    i += 1
                    if not b & 0x80:
                        complete = True
                        break
                if complete and len(self.stream) >= i + value:
                    first, body = self.stream[0], self.stream[i:i + value]
                    self.stream = self.stream[i + value:]
                    return first, body
            opcode, payload = self._read_frame()
            if opcode in (0x0, 0x1, 0x2):
                self.stream += payload
            elif opcode == 0x8:
                raise ProbeError("WebSocket closed by the broker")
            elif opcode == 0x9:
                self.send_frame(payload, opcode=0xA)


def main(argv):
    ap = argparse.ArgumentParser(
        usage=__doc__.split("\n\n")[1].strip()[len("usage: "):],
        description="\n\n".join(__doc__.split("\n\n")[2:]),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--path", default="/mqtt")
    tls = ap.add_mutually_exclusive_group()
    tls.add_argument("--cafile")
    tls.add_argument("--insecure", action="store_true", help="TLS without verification")
    tls.add_argument("--no-tls", action="store_true", help="plain ws://")
    ap.add_argument("--server-name", help="TLS name to verify (default: --host)")
    ap.add_argument("-u", "--username")
    ap.add_argument("-P", "--password")
    ap.add_argument("--client-id", default=None)
    ap.add_argument("--subscribe")
    ap.add_argument("--publish")
    ap.add_argument("--message", default="")
    ap.add_argument("--qos", type=int, choices=(0, 1), default=1)
    ap.add_argument("--retain", action="store_true")
    ap.add_argument("--header", action="append", default=[])
    ap.add_argument("--timeout", type=float, default=5.0)
    ap.add_argument("--quiet", action="store_true")
    try:
        a = ap.parse_args(argv)
    except SystemExit as e:
        return 0 if e.code == 0 else 64
    if a.password is not None and a.username is None:
        print("ws-probe: -P needs -u", file=sys.stderr)
        return 64

    def log(msg):
        if not a.quiet:
            print(f"ws-probe: {msg}", file=sys.stderr, flush=True)

    deadline = time.monotonic() + a.timeout
    client_id = a.client_id or f"ws-probe-{os.getpid()}"
    try:
        sock = socket.create_connection((a.host, a.port), timeout=a.timeout)
        if not a.no_tls:
            ctx = ssl.create_default_context(cafile=a.cafile) if not a.insecure else ssl._create_unverified_context()
            sock = ctx.wrap_socket(sock, server_hostname=a.server_name or a.host)
        ws = WSConn(sock, deadline)
        host_header = f"[{a.host}]:{a.port}" if ":" in a.host else f"{a.host}:{a.port}"
        ws.handshake(host_header, a.path, a.header)

        flags = 0x02
        payload = mqtt_string(client_id)
        if a.username is not None:
            flags |= 0x80
            payload += mqtt_string(a.username)
            if a.password is not None:
                flags |= 0x40
                payload += mqtt_string(a.password)
        body = mqtt_string("MQTT") + bytes([4, flags]) + struct.pack("!H", 60) + payload
        ws.send_frame(packet(0x10, body))
        first, body = ws.read_packet()
        if first >> 4 != 2 or len(body) < 2:
            raise ProbeError(f"expected CONNACK, got packet type {first >> 4}")
        if body[1] != 0:
            print(f"ws-probe: CONNACK refused: {body[1]} ({CONNACK_CODES.get(body[1], '?')})", file=sys.stderr)
            return 1
        log("CONNACK accepted")

        if a.subscribe:
            ws.send_frame(packet(0x82, struct.pack("!H", 1) + mqtt_string(a.subscribe) + bytes([a.qos])))
            while True:
                first, body = ws.read_packet()
                if first >> 4 == 9:
                    break
            if len(body) < 3 or body[2] == 0x80:
                print(f"ws-probe: SUBACK refused {a.subscribe}", file=sys.stderr)
                return 4
            log(f"subscribed to {a.subscribe} (granted QoS {body[2]})")

        if a.publish:
            msg = a.message.encode("utf-8")
            flags = (a.qos << 1) | (1 if a.retain else 0)
            vh = mqtt_string(a.publish) + (struct.pack("!H", 2) if a.qos else b"")
            ws.send_frame(packet(0x30 | flags, vh + msg))
            if a.qos:
                while True:
                    first, body = ws.read_packet()
                    if first >> 4 == 4:
                        break
                    if first >> 4 == 3:
                        ws.stream = bytes([first]) + remaining_length(len(body)) + body + ws.stream
                        break
            log(f"published to {a.publish}")

        if a.subscribe:
            while True:
                first, body = ws.read_packet()
                if first >> 4 == 3:
                    break
            qos = (first >> 1) & 3
            tlen = struct.unpack("!H", body[:2])[0]
            topic = body[2:2 + tlen].decode("utf-8", "replace")
            rest = body[2 + tlen:]
            if qos:
                ws.send_frame(packet(0x40, rest[:2]))
                rest = rest[2:]
            print(f"{topic} {rest.decode('utf-8', 'replace')}", flush=True)

        ws.send_frame(packet(0xE0, b""))
        sock.close()
        return 0
    except Timeout:
        print(f"ws-probe: timed out after {a.timeout:g} s", file=sys.stderr)
        return 3
    except (OSError, ssl.SSLError, ProbeError) as e:
        print(f"ws-probe: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
