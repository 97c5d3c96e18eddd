#!/usr/bin/python3
"""A one-name DNS responder for the tests: answers A queries for NAME with ADDR, NXDOMAIN for
anything else. Usage: dns-server.py LISTEN-ADDR PORT NAME ADDR. Runs until killed."""
import socket
import struct
import sys

listen, port, name, addr = sys.argv[1], int(sys.argv[2]), sys.argv[3].rstrip(".").lower(), sys.argv[4]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((listen, port))
print("ready", flush=True)
while True:
    q, peer = s.recvfrom(512)
    if len(q) < 12:
        continue
    qid, flags, qd = struct.unpack(">HHH", q[:6])
    i, labels = 12, []
    while i < len(q) and q[i]:
        labels.append(q[i + 1:i + 1 + q[i]].decode(errors="replace"))
        i += 1 + q[i]
    question = q[12:i + 5]
    qtype = struct.unpack(">H", q[i + 1:i + 3])[0] if i + 3 <= len(q) else 0
    qname = ".".join(labels).lower()
    if qname == name and qtype == 1:
        answer = b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 60, 4) + socket.inet_aton(addr)
        hdr = struct.pack(">HHHHHH", qid, 0x8180, 1, 1, 0, 0)
    elif qname == name:
        answer, hdr = b"", struct.pack(">HHHHHH", qid, 0x8180, 1, 0, 0, 0)
    else:
        answer, hdr = b"", struct.pack(">HHHHHH", qid, 0x8183, 1, 0, 0, 0)
    s.sendto(hdr + question + answer, peer)
