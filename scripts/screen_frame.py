#!/usr/bin/env python3
"""Writes one gRPC frame of a ScreenInvoiceRequest (a 3-line invoice via Kyrgyzstan, with
rescreen=true so that every call stores a new verdict) for h2load to post. Encodes the
protobuf by hand so that no protobuf package is needed."""
import struct
import sys


def varint(n):
    out = b""
    while True:
        b, n = n & 0x7F, n >> 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def field(num, wire_type, payload):
    key = varint((num << 3) | wire_type)
    return key + (varint(len(payload)) + payload if wire_type == 2 else payload)


def text(num, value):
    return field(num, 2, value.encode())


def message(num, body):
    return field(num, 2, body)


lines = b"".join(
    message(7, text(2, hs) + text(3, "goods")) for hs in ["8482.10", "8542.31", "0901.21"]
)
invoice = (
    text(1, "INV-LOAD-1")
    + message(2, text(2, "TR1234567890") + text(3, "Anatolia Export A.S."))
    + message(3, text(3, "Bishkek Machinery Trading") + text(5, "KG"))
    + text(5, "KG")
    + lines
)
request = message(1, invoice) + field(2, 0, varint(1))  # rescreen = true
frame = b"\x00" + struct.pack(">I", len(request)) + request
with open(sys.argv[1] if len(sys.argv) > 1 else "screen.frame", "wb") as f:
    f.write(frame)
