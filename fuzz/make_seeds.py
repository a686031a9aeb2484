"""Seed corpora of the runtime fuzz targets, from files the tools wrote.

make_seeds.py OUT PLAN DATASET_PREFIX CHECKPOINT_ITER_DIR
Two-file targets take one input: a two-byte little-endian length, the
first file, then the second (FuzzInput.h's splitInput).
"""
import os
import shutil
import sys


def two_files(first, second):
    return len(first).to_bytes(2, "little") + first + second


def read(path):
    with open(path, "rb") as f:
        return f.read()


def main():
    out, plan, dataset, iteration = sys.argv[1:5]
    seeds = {
        "plan": {"tiny.plan": read(plan)},
        "safetensors": {"model.safetensors":
                        read(os.path.join(iteration, "model.safetensors"))},
        "dataset": {"tiny": two_files(read(dataset + ".idx"),
                                      read(dataset + ".bin"))},
        "checkpoint": {"state": two_files(
            b"1\n", read(os.path.join(iteration, "trainer_state.json")))},
    }
    for target, files in seeds.items():
        directory = os.path.join(out, target)
        shutil.rmtree(directory, ignore_errors=True)
        os.makedirs(directory)
        for name, data in files.items():
            with open(os.path.join(directory, name), "wb") as f:
                f.write(data)


if __name__ == "__main__":
    main()
