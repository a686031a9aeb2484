"""Copies a safetensors file with the first value of one F32 tensor set to
VALUE (inf, -inf or nan).

  poison_weights.py IN OUT TENSOR VALUE
"""

import json
import struct
import sys


def main():
    source, target, name, value = sys.argv[1:5]
    with open(source, "rb") as f:
        data = bytearray(f.read())
    (length,) = struct.unpack_from("<Q", data)
    header = json.loads(data[8:8 + length])
    if header.get(name, {}).get("dtype") != "F32":
        sys.exit(f"{source}: no F32 tensor {name}")
    begin = 8 + length + header[name]["data_offsets"][0]
    struct.pack_into("<f", data, begin, float(value))
    with open(target, "wb") as f:
        f.write(data)


if __name__ == "__main__":
    main()
