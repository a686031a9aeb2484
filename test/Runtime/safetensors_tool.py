"""Makes and checks safetensors files for the loader's tests.

  safetensors_tool.py convert IN OUT DTYPE       every tensor to BF16 or F16
  safetensors_tool.py set IN OUT TENSOR KEY JSON  one field of a tensor's
                                                  header entry
  safetensors_tool.py equal-rounded A B DTYPE     B holds exactly A's values
                                                  rounded to DTYPE
"""

import json
import struct
import sys

import torch

DTYPES = {"F32": torch.float32, "BF16": torch.bfloat16, "F16": torch.float16}


def read(path):
    with open(path, "rb") as f:
        data = f.read()
    (length,) = struct.unpack_from("<Q", data)
    return json.loads(data[8:8 + length]), data[8 + length:]


def write(path, header, body):
    text = json.dumps(header).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + body)


def tensors(path):
    header, body = read(path)
    out = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        raw = bytearray(body[begin:end])
        dtype = DTYPES[entry["dtype"]]
        out[name] = torch.frombuffer(raw, dtype=dtype).reshape(entry["shape"])
    return out


def convert(source, target, dtype):
    header = {}
    body = b""
    for name, value in tensors(source).items():
        data = value.to(DTYPES[dtype]).contiguous().view(torch.uint8).numpy().tobytes()
        header[name] = {"dtype": dtype, "shape": list(value.shape),
                        "data_offsets": [len(body), len(body) + len(data)]}
        body += data
    write(target, header, body)


def set_field(source, target, tensor, key, value):
    header, body = read(source)
    header[tensor][key] = json.loads(value)
    write(target, header, body)


def equal_rounded(original, loaded, dtype):
    want, got = tensors(original), tensors(loaded)
    if want.keys() != got.keys():
        sys.exit("the files hold different tensors")
    for name, value in want.items():
        rounded = value.to(DTYPES[dtype]).float()
        if not torch.equal(rounded, got[name]):
            sys.exit(f"{name}: the loaded values are not the {dtype} values")
    print(f"{len(want)} tensors equal to their {dtype} rounding")


def main():
    command, args = sys.argv[1], sys.argv[2:]
    {"convert": convert, "set": set_field, "equal-rounded": equal_rounded}[command](*args)


if __name__ == "__main__":
    main()
