"""Expert parallelism on this machine: step time, peak memory per rank and
the bytes a rank sends, for world 1, 2 and 4 (ep = world) with the same
global batch, for Megatron's alltoall and allgather dispatchers and the
minimal guide's replicated experts.

  /usr/bin/python3 bench/expert_parallel.py [--build build] [--steps 4]

The model is the minimal guide's small model (12 layers, hidden 768, 8
experts top-2 on every second layer, SwiGLU 2048, vocabulary 32000) at
sequence length 256, 4 micro-batches of 2 sequences a step. Ranks beyond the
machine's cores share them (mpirun --oversubscribe): on 2 cores, 4 ranks time
the sharing as much as the parallelism. Prints a Markdown table.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

MODEL = (
    "--num-layers 12 --hidden-size 768 --num-attention-heads 12 "
    "--ffn-hidden-size 2048 --swiglu --normalization RMSNorm "
    "--position-embedding-type rope --disable-bias-linear "
    "--untie-embeddings-and-output-weights --num-experts 8 --moe-router-topk 2 "
    "--moe-layer-freq 2 --moe-aux-loss-coeff 1e-2 --vocab-size 32000 "
    "--seq-length 256 --max-position-embeddings 256 --micro-batch-size 2 "
    "--global-batch-size 8 --lr 1e-4"
).split()
# The guide's own flags for the same shape: its experts follow
# --tensor-parallel-size and see the same tokens on every rank of a group.
GUIDE = (
    "--vocab-size 32000 --hidden-size 768 --num-layers 12 "
    "--num-attention-heads 12 --ffn-hidden-size 2048 --num-experts 8 "
    "--num-experts-per-token 2 --moe-layer-interval 2 --seq-length 256 "
    "--batch-size 2 --num-microbatches 4 --norm rmsnorm --activation swiglu "
    "--position-embedding rope --untie-embeddings --lr 1e-4 --warmup-steps 1"
).split()
MPIRUN = ["mpirun", "--allow-run-as-root", "--oversubscribe"]


def run(command, **kwargs):
    result = subprocess.run(command, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{result.stdout}{result.stderr}")
    return result


def measure(build, work, name, compile_flags, world, steps):
    plan = os.path.join(work, f"{name}-w{world}.plan")
    run([f"{build}/bin/moe-compile", "--emit=plan", "--world-size", str(world),
         "-o", plan, "--"] + compile_flags)
    metrics = os.path.join(work, f"{name}-w{world}.jsonl")
    rss = os.path.join(work, f"{name}-w{world}.rss")
    train = [f"{build}/bin/moe-run", plan, "--data", os.path.join(work, "corpus_text_document"),
             "--split", "90,10,0", "--train-iters", str(steps), "--log-interval", "1",
             "--eval-interval", "0", "--metrics-jsonl", metrics]
    # Each rank's peak resident memory, appended by GNU time.
    timed = ["/usr/bin/time", "-a", "-o", rss, "-f", "%M"] + train
    if os.path.exists(rss):
        os.remove(rss)
    out = run(timed if world == 1 else MPIRUN + ["-np", str(world)] + timed).stdout
    records = [json.loads(line) for line in open(metrics)]
    times = [r["seconds_per_step"] for r in records[1:]]  # after warm-up
    peaks = [int(line) / 1024 for line in open(rss) if line.strip()]
    sent = next((line for line in out.splitlines() if line.startswith("Sent by rank 0")), "")
    return {
        "dispatcher": name, "world": world,
        "step_s": statistics.median(times), "min_s": min(times), "max_s": max(times),
        "peak_mib": max(peaks), "loss": records[-1]["lm_loss"],
        "sent": sent.replace("Sent by rank 0 per step: ", ""),
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", default="build")
    parser.add_argument("--steps", type=int, default=4)
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="moe-ep-bench-")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    run([f"{args.build}/bin/moe-preprocess", "--input",
         os.path.join(root, "examples/corpus/tiny.jsonl"), "--output-prefix",
         os.path.join(work, "corpus"), "--append-eod"])
    rows = []
    for world in (1, 2, 4):
        ep = ["--expert-model-parallel-size", str(world)]
        rows.append(measure(args.build, work, "alltoall", MODEL + ep +
                            ["--moe-token-dispatcher-type", "alltoall"], world, args.steps))
        if world > 1:
            rows.append(measure(args.build, work, "allgather", MODEL + ep +
                                ["--moe-token-dispatcher-type", "allgather"], world, args.steps))
            rows.append(measure(args.build, work, "replicated", GUIDE +
                                ["--tensor-parallel-size", str(world)], world, args.steps))
    print(f"{os.cpu_count()} cores; median (min-max) of {args.steps - 1} steps after the first\n")
    print("| dispatcher | ranks | step s | peak RSS per rank MiB | loss at last step | sent by rank 0 per step |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['dispatcher']} | {r['world']} | {r['step_s']:.2f} ({r['min_s']:.2f}-{r['max_s']:.2f}) "
              f"| {r['peak_mib']:.0f} | {r['loss']:.4f} | {r['sent'] or '-'} |")


if __name__ == "__main__":
    main()
