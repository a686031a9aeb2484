#!/usr/bin/env python3
"""Draws a training run's metrics (moe-run --metrics-jsonl) to a PNG.

    moe-plot build/tiny-run/metrics.jsonl -o build/tiny-run/training.png
    moe-run ... | moe-plot - -o out.png     (JSON lines on stdin)

Panels: the language-model loss (and the validation loss), the aux and z
losses, the learning rate, and for each MoE layer the share of the routed
tokens that each expert received per log interval, against the step; the
dashed line is an even share. moe-run draws it at the end of a run that
saves a checkpoint or is given --plot. Exit status: 0 drawn, 2 bad input,
3 matplotlib is not installed.
"""

import argparse
import json
import math
import sys


def read_rows(source):
    """The step rows and the validation rows of a metrics file."""
    steps, validations = [], []
    for number, line in enumerate(source, 1):
        line = line.strip()
        if not line:
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise ValueError(f"line {number}: not JSON ({error.msg})")
        if not isinstance(row, dict) or "step" not in row:
            raise ValueError(f"line {number}: not a metrics object with a step")
        if "lm_loss" in row:
            steps.append(row)
        elif "validation_lm_loss" in row:
            validations.append(row)
    if not steps:
        raise ValueError("no training step in the metrics")
    return steps, validations


def expert_shares(steps):
    """{layer: (steps, [share of expert e at each of those steps])}."""
    layers = {}
    for row in steps:
        for layer, counts in row.get("tokens_per_expert", {}).items():
            total = sum(counts)
            if total == 0:
                continue
            points, shares = layers.setdefault(int(layer), ([], []))
            points.append(row["step"])
            if not shares:
                shares.extend([] for _ in counts)
            for e, count in enumerate(counts):
                shares[e].append(count / total)
    return dict(sorted(layers.items()))


def draw(steps, validations, output, title):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = [row["step"] for row in steps]
    layers = expert_shares(steps)
    columns = 2
    panels = 3 + len(layers)
    rows = math.ceil(panels / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(12, 3.5 * rows),
                                squeeze=False)
    axes = axes.flatten()

    loss = axes[0]
    loss.plot(x, [row["lm_loss"] for row in steps], label="training")
    if validations:
        loss.plot([row["step"] for row in validations],
                  [row["validation_lm_loss"] for row in validations],
                  marker="o", label="validation")
    loss.set_title("Language-model loss")
    loss.set_ylabel("loss")

    balance = axes[1]
    balance.plot(x, [row.get("aux_loss", 0.0) for row in steps],
                 label="aux loss")
    balance.plot(x, [row.get("z_loss", 0.0) for row in steps], label="z loss")
    balance.set_title("Router losses")
    balance.set_ylabel("loss")

    rate = axes[2]
    rate.plot(x, [row.get("lr", 0.0) for row in steps], label="learning rate")
    rate.set_title("Learning rate")
    rate.set_ylabel("learning rate")
    rate.ticklabel_format(axis="y", style="sci", scilimits=(-2, 3))

    for panel, (layer, (points, shares)) in zip(axes[3:], layers.items()):
        for e, share in enumerate(shares):
            panel.plot(points, share, label=f"expert {e}")
        panel.axhline(1.0 / len(shares), color="grey", linestyle="--",
                      linewidth=1, label="even share")
        panel.set_title(f"Expert load, layer {layer}")
        panel.set_ylabel("share of routed tokens")
        panel.set_ylim(bottom=0)

    for panel in axes[:panels]:
        panel.set_xlabel("step")
        panel.grid(alpha=0.3)
        handles, _ = panel.get_legend_handles_labels()
        if len(handles) <= 17:
            panel.legend(fontsize="small", ncol=1 if len(handles) <= 6 else 2)
    for panel in axes[panels:]:
        panel.set_visible(False)
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(output, dpi=100)


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("metrics", help="a metrics JSONL file, or - for stdin")
    parser.add_argument("-o", "--output", required=True, help="the PNG to write")
    parser.add_argument("--title", default="", help="a title above the panels")
    args = parser.parse_args()
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print(f"moe-plot: matplotlib is not installed for {sys.executable} "
              "(Debian: apt-get install python3-matplotlib)", file=sys.stderr)
        return 3
    name = "<stdin>" if args.metrics == "-" else args.metrics
    try:
        if args.metrics == "-":
            steps, validations = read_rows(sys.stdin)
        else:
            with open(args.metrics) as source:
                steps, validations = read_rows(source)
    except (OSError, ValueError) as error:
        print(f"moe-plot: {name}: {error}", file=sys.stderr)
        return 2
    try:
        draw(steps, validations, args.output, args.title)
    except OSError as error:
        print(f"moe-plot: {args.output}: {error.strerror}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
