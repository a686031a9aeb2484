"""Compares two training runs: the per-step numbers of their --metrics-jsonl
files, or the tensors of two safetensors files (or of every safetensors file
of two checkpoint directories). Prints the worst relative difference of each
quantity and fails when one exceeds --rtol; `--exact` asks for equal bytes.

  compare_runs.py metrics A.jsonl B.jsonl --rtol 1e-5  (B may log fewer steps)
  compare_runs.py tensors A B --rtol 1e-4     (files or iter_N directories)
"""

import argparse
import json
import os
import struct
import sys

import numpy as np


def read_metrics(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def read_safetensors(path):
    with open(path, "rb") as f:
        (size,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(size))
        data = f.read()
    tensors = {}
    for name, desc in header.items():
        if name == "__metadata__":
            continue
        if desc["dtype"] != "F32":
            sys.exit(f"{path}: {name} is {desc['dtype']}, not F32")
        begin, end = desc["data_offsets"]
        tensors[name] = np.frombuffer(data[begin:end], dtype="<f4").reshape(
            desc["shape"]
        )
    return tensors


def tensor_files(path):
    if os.path.isdir(path):
        return {
            name: os.path.join(path, name)
            for name in sorted(os.listdir(path))
            if name.endswith(".safetensors")
        }
    return {os.path.basename(path): path}


def relative(a, b):
    """max |a - b| / max(|a|, |b|), 0 for two zero tensors."""
    scale = max(float(np.max(np.abs(a), initial=0)), float(np.max(np.abs(b), initial=0)))
    diff = float(np.max(np.abs(a.astype(np.float64) - b), initial=0))
    if np.isnan(a).any() or np.isnan(b).any():
        return float("inf")
    return diff / scale if scale > 0 else diff


def compare_metrics(a_path, b_path, rtol):
    a, b = read_metrics(a_path), read_metrics(b_path)
    # B may be a resumed run: it covers the last of A's steps.
    by_step = {r["step"]: r for r in a}
    missing = [r["step"] for r in b if r["step"] not in by_step]
    if missing or not b:
        sys.exit(f"{b_path} logs steps {missing or 'none'} that {a_path} lacks")
    worst = {}
    for rb in b:
        ra = by_step[rb["step"]]
        if ra["tokens_per_expert"] != rb["tokens_per_expert"]:
            sys.exit(
                f"step {ra['step']}: tokens per expert differ: "
                f"{ra['tokens_per_expert']} and {rb['tokens_per_expert']}"
            )
        for key in ("lm_loss", "aux_loss", "z_loss", "grad_norm", "lr"):
            x, y = float(ra[key]), float(rb[key])
            err = abs(x - y) / max(abs(x), abs(y)) if x != y else 0.0
            worst[key] = max(worst.get(key, 0.0), err)
    return worst


def compare_tensors(a_path, b_path, rtol, exact):
    files_a, files_b = tensor_files(a_path), tensor_files(b_path)
    if sorted(files_a) != sorted(files_b):
        sys.exit(f"different files: {sorted(files_a)} and {sorted(files_b)}")
    worst = {}
    for file in files_a:
        ta, tb = read_safetensors(files_a[file]), read_safetensors(files_b[file])
        if sorted(ta) != sorted(tb):
            missing = set(ta) ^ set(tb)
            sys.exit(f"{file}: the tensors differ in name: {sorted(missing)[:5]}")
        for name in ta:
            if ta[name].shape != tb[name].shape:
                sys.exit(f"{file}: {name} has shapes {ta[name].shape} and {tb[name].shape}")
            if exact:
                err = 0.0 if ta[name].tobytes() == tb[name].tobytes() else float("inf")
            else:
                err = relative(ta[name], tb[name])
            key = f"{file}:{name}"
            worst[key] = err
    return worst


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=["metrics", "tensors"])
    parser.add_argument("a")
    parser.add_argument("b")
    parser.add_argument("--rtol", type=float, default=0.0)
    parser.add_argument("--exact", action="store_true")
    args = parser.parse_args()
    if args.kind == "metrics":
        worst = compare_metrics(args.a, args.b, args.rtol)
    else:
        worst = compare_tensors(args.a, args.b, args.rtol, args.exact)
    limit = 0.0 if args.exact else args.rtol
    failed = {key: err for key, err in worst.items() if not err <= limit}
    top = max(worst.items(), key=lambda item: item[1])
    print(f"{len(worst)} quantities, worst {top[0]} {top[1]:.3g} (limit {limit:g})")
    for key, err in sorted(failed.items(), key=lambda item: -item[1])[:10]:
        print(f"MISMATCH {key}: {err:.3g}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
