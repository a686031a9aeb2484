"""Prints each document of a Megatron indexed dataset (<prefix>.idx/.bin)
as a line of token ids, read with the format's own layout: the MMIDIDX
header, then sizes (int32), pointers (int64) and document indices (int64).

  read_indexed.py PREFIX
"""

import struct
import sys

DTYPES = {1: ("B", 1), 3: ("h", 2), 4: ("i", 4), 5: ("q", 8), 8: ("H", 2)}


def main():
    prefix = sys.argv[1]
    with open(prefix + ".idx", "rb") as f:
        idx = f.read()
    if idx[:9] != b"MMIDIDX\x00\x00":
        sys.exit("not an MMIDIDX index")
    version, code, sequences, documents = struct.unpack_from("<QBQQ", idx, 9)
    at = 9 + 25
    sizes = struct.unpack_from("<%di" % sequences, idx, at)
    at += 4 * sequences
    pointers = struct.unpack_from("<%dq" % sequences, idx, at)
    at += 8 * sequences
    starts = struct.unpack_from("<%dq" % documents, idx, at)
    fmt, width = DTYPES[code]
    with open(prefix + ".bin", "rb") as f:
        data = f.read()
    for d in range(documents - 1):
        ids = []
        for s in range(starts[d], starts[d + 1]):
            ids += struct.unpack_from("<%d%s" % (sizes[s], fmt), data, pointers[s])
        print(" ".join(map(str, ids)))


if __name__ == "__main__":
    main()
