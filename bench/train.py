#!/usr/bin/env python3
"""Training step time of moe-run against a PyTorch eager implementation of
the same model (test/oracle's Hugging Face-style model, autograd and
torch.optim.AdamW), side by side on the same machine, weights and batches.

    bench/train.py build/tiny.plan build/corpus/tiny_text_document --steps 20

Runs the first N steps of moe-run --train-iters --dump, then replays them in
PyTorch, and prints the mean step time of each (the first step of each is
left out as warm-up) and their ratio.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "test", "oracle"))
import torch  # noqa: E402
from forward_oracle import Model, read_safetensors  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("plan")
    parser.add_argument("data")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--schedule", type=int, default=1000,
                        help="the run's length for the learning-rate schedule "
                        "(longer than any warmup); the first --steps are timed")
    parser.add_argument("--moe-run", default="build/bin/moe-run")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as work:
        dump, metrics = work + "/dump", work + "/metrics.jsonl"
        env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
        subprocess.run([args.moe_run, args.plan, "--data", args.data, "--split", "1,1",
                        "--train-iters", str(max(args.steps, args.schedule)),
                        "--exit-interval", str(args.steps), "--log-interval", "1",
                        "--eval-interval", "0",
                        "--metrics-jsonl", metrics, "--dump", dump],
                       check=True, stdout=subprocess.DEVNULL, env=env)
        rows = [json.loads(line) for line in open(metrics)]
        runtime = [row["seconds_per_step"] for row in rows if "seconds_per_step" in row]
        config = json.load(open(dump + "/config.json"))
        steps = json.load(open(dump + "/steps.json"))
        params = read_safetensors(dump + "/weights.safetensors")
    for p in params.values():
        p.requires_grad_(True)
    model = Model(config, params)
    optimizer = torch.optim.AdamW(list(params.values()), lr=1e-4)
    eager = []
    for entry in steps:
        start = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        for batch in entry["micro_batches"]:
            loss, aux, z, _ = model.losses(batch["tokens"], batch["labels"])
            (loss + aux + z).backward()
        torch.nn.utils.clip_grad_norm_(list(params.values()), 1.0)
        optimizer.step()
        eager.append(time.perf_counter() - start)
    ours = sum(runtime[1:]) / (len(runtime) - 1)
    theirs = sum(eager[1:]) / (len(eager) - 1)
    tokens = config["global_batch_size"] * config["seq_length"]
    print("moe-run         %8.2f ms per step (%d tokens)" % (ours * 1e3, tokens))
    print("PyTorch eager   %8.2f ms per step" % (theirs * 1e3))
    print("speed-up        %8.2fx" % (theirs / ours))


if __name__ == "__main__":
    main()
