"""Reads TensorBoard event files back: checks every record's framing and
CRC-32C, decodes the Event protocol buffers and prints `step tag value`."""

import glob
import struct
import sys


def crc32c(data):
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def masked(crc):
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def varint(data, at):
    value = shift = 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, at


def fields(data):
    """(field number, wire type, value) of one protocol-buffer message."""
    at = 0
    while at < len(data):
        key, at = varint(data, at)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, at = varint(data, at)
        elif wire == 1:
            value, at = data[at:at + 8], at + 8
        elif wire == 5:
            value, at = data[at:at + 4], at + 4
        elif wire == 2:
            size, at = varint(data, at)
            value, at = data[at:at + size], at + size
        else:
            sys.exit(f"unexpected wire type {wire}")
        yield number, wire, value


def records(path):
    with open(path, "rb") as f:
        blob = f.read()
    at = 0
    while at < len(blob):
        header = blob[at:at + 8]
        (length,) = struct.unpack("<Q", header)
        (length_crc,) = struct.unpack("<I", blob[at + 8:at + 12])
        if masked(crc32c(header)) != length_crc:
            sys.exit(f"{path}: bad length CRC at byte {at}")
        data = blob[at + 12:at + 12 + length]
        (data_crc,) = struct.unpack("<I", blob[at + 12 + length:at + 16 + length])
        if masked(crc32c(data)) != data_crc:
            sys.exit(f"{path}: bad data CRC at byte {at}")
        yield data
        at += 16 + length


for path in sorted(glob.glob(sys.argv[1] + "/events.out.tfevents.*")):
    for record in records(path):
        step, version = 0, None
        for number, _, value in fields(record):
            if number == 2:
                step = value
            elif number == 3:
                version = value.decode()
            elif number == 5:
                for _, _, summary_value in fields(value):
                    tag, simple = None, None
                    for n, _, v in fields(summary_value):
                        if n == 1:
                            tag = v.decode()
                        elif n == 2:
                            (simple,) = struct.unpack("<f", v)
                    print(f"{step} {tag} {simple:.6g}")
        if version:
            print(f"file_version {version}")
