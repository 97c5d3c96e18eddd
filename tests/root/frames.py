#!/usr/bin/python3
"""Sends hostile frames to sandboxd and checks it answers with an error and closes, and that it
still serves a well-formed client afterwards. Prints TAP. Usage: frames.py SOCKET"""
import os
import socket
import sys

sock_path = sys.argv[1]
n = 0
failed = 0


def ok(cond, desc):
    global n, failed
    n += 1
    print(("ok" if cond else "not ok") + f" {n} - {desc}", flush=True)
    if not cond:
        failed += 1


def varint(v):
    out = b""
    while True:
        b = v & 0x7F
        v >>= 7
        out += bytes([b | (0x80 if v else 0)])
        if not v:
            return out


def fld(num, payload):
    return varint((num << 3) | 2) + varint(len(payload)) + payload


def fint(num, v):
    return varint(num << 3) + varint(v)


def hello(driver=""):
    return fld(1, fint(1, 1) + fld(2, b"frames.py") + fld(3, driver.encode()))


def connect():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.settimeout(5)
    s.connect(sock_path)
    return s


def error_code(frame):
    """Extracts Response.error.code from a Frame{response=4{error=2{code=1}}} (minimal decoder)."""
    def fields(buf):
        i = 0
        while i < len(buf):
            key = 0
            shift = 0
            while True:
                b = buf[i]
                i += 1
                key |= (b & 0x7F) << shift
                shift += 7
                if not b & 0x80:
                    break
            num, wt = key >> 3, key & 7
            if wt == 0:
                v = 0
                shift = 0
                while True:
                    b = buf[i]
                    i += 1
                    v |= (b & 0x7F) << shift
                    shift += 7
                    if not b & 0x80:
                        break
                yield num, v
            elif wt == 2:
                ln = 0
                shift = 0
                while True:
                    b = buf[i]
                    i += 1
                    ln |= (b & 0x7F) << shift
                    shift += 7
                    if not b & 0x80:
                        break
                yield num, buf[i:i + ln]
                i += ln
            else:
                return
    for num, v in fields(frame):
        if num == 4:
            for n2, v2 in fields(v):
                if n2 == 2:
                    for n3, v3 in fields(v2):
                        if n3 == 1:
                            return v3
    return None


def closed_after_error(s, desc, expect):
    try:
        reply = s.recv(1 << 20)
        code = error_code(reply)
        ok(code == expect, f"{desc}: error reply with errno {expect} (got {code})")
        ok(s.recv(1 << 20) == b"", f"{desc}: then the daemon closes the connection")
    except (socket.timeout, ConnectionResetError) as e:
        ok(False, f"{desc}: {e}")


# 1. garbage as the first frame
s = connect()
s.send(b"\xff\xff\xff\xff\x0f\x01\x02")
closed_after_error(s, "undecodable frame", 74)  # EBADMSG
s.close()

# 2. a valid frame that is not hello first
s = connect()
s.send(fld(3, fint(1, 1) + fld(9, b"")))
closed_after_error(s, "request before hello", 71)  # EPROTO
s.close()

# 3. oversize frame (256 KiB > 128 KiB limit)
s = connect()
s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
try:
    s.send(hello() + fld(15, b"x" * (256 * 1024)))
    closed_after_error(s, "oversize frame", 90)  # EMSGSIZE
except OSError as e:
    ok(False, f"oversize frame could not be sent: {e}")
    ok(False, "oversize frame: skipped close check")
s.close()

# 4. wrong protocol version
s = connect()
s.send(fld(1, fint(1, 99)))
closed_after_error(s, "unknown protocol version", 93)  # EPROTONOSUPPORT
s.close()

# 5. hello, then a request with an empty oneof
s = connect()
s.send(hello())
s.recv(1 << 20)
s.send(fld(3, fint(1, 5)))
closed_after_error(s, "request without an operation", 71)
s.close()

# 6. fds with a non-start request are refused but the connection stays usable
s = connect()
s.send(hello())
s.recv(1 << 20)
r, w = os.pipe()
socket.send_fds(s, [fld(3, fint(1, 6) + fld(9, b""))], [r])
os.close(r)
os.close(w)
reply = s.recv(1 << 20)
ok(error_code(reply) == 22, "fds with list refused with EINVAL")
s.send(fld(3, fint(1, 7) + fld(9, b"")))
reply = s.recv(1 << 20)
ok(error_code(reply) is None and len(reply) > 0, "the same connection still answers list")
s.close()

# 7. a peer that connects and sends half of nothing, idle: does not block others
idle = connect()
s = connect()
s.send(hello())
ok(len(s.recv(1 << 20)) > 0, "another client is served while an idle peer holds a connection")
s.close()
idle.close()

print(f"1..{n}")
sys.exit(1 if failed else 0)
