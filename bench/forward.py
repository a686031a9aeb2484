#!/usr/bin/env python3
"""Forward pass time of moe-run against PyTorch eager, side by side.

  bench/forward.py examples/tiny.yaml [--iters 20] [--build build]

Compiles the description, runs moe-run on the bundled corpus (which also
writes its weights and first micro-batch), then times the PyTorch
implementation of test/oracle on the same weights and batch, with the same
number of threads, and prints both times and their ratio. Run it with
/usr/bin/python3 (Debian's python3-torch) on an otherwise idle machine.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "test", "oracle"))
from forward_oracle import Model, read_safetensors  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("description")
    parser.add_argument("--iters", type=int, default=20)
    parser.add_argument("--build", default="build")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--split", default="1,1")
    args = parser.parse_args()

    root = os.path.join(os.path.dirname(__file__), "..")
    tools = os.path.join(args.build, "bin")
    with tempfile.TemporaryDirectory() as work:
        corpus = os.path.join(work, "corpus")
        subprocess.run([os.path.join(tools, "moe-preprocess"), "--input",
                        os.path.join(root, "examples", "corpus", "tiny.jsonl"),
                        "--output-prefix", corpus, "--append-eod"],
                       check=True, stdout=subprocess.DEVNULL)
        plan = os.path.join(work, "model.plan")
        subprocess.run([os.path.join(tools, "moe-compile"), args.description,
                        "--emit=plan", "-o", plan], check=True)
        metrics = os.path.join(work, "metrics.json")
        dump = os.path.join(work, "dump")
        env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
        subprocess.run([os.path.join(tools, "moe-run"), plan, "--data",
                        corpus + "_text_document", "--split", args.split,
                        "--eval-iters", str(args.iters), "--metrics-json", metrics,
                        "--dump", dump], check=True, env=env, stdout=subprocess.DEVNULL)
        runtime = json.load(open(metrics))["forward_seconds"]

        config = json.load(open(os.path.join(dump, "config.json")))
        batch = json.load(open(os.path.join(dump, "batch.json")))
        model = Model(config, read_safetensors(os.path.join(dump, "weights.safetensors")))
        torch.set_num_threads(args.threads)
        with torch.no_grad():
            model.forward(batch["tokens"], batch["labels"])  # warm up
            start = time.perf_counter()
            for _ in range(args.iters):
                model.forward(batch["tokens"], batch["labels"])
            pytorch = (time.perf_counter() - start) / args.iters

    tokens = config["seq_length"] * config["micro_batch_size"]
    print("%s: %d tokens per micro-batch, %d threads" % (args.description, tokens, args.threads))
    print("moe-run  %9.3f ms  (%.2f us/token)" % (runtime * 1e3, runtime * 1e6 / tokens))
    print("pytorch  %9.3f ms  (%.2f us/token)" % (pytorch * 1e3, pytorch * 1e6 / tokens))
    print("speedup of moe-run over PyTorch eager: %.2fx" % (pytorch / runtime))


if __name__ == "__main__":
    main()
