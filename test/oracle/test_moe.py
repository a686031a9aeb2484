#!/usr/bin/env python3
"""The checks a MoE trainer's users look for, run on the compiled models:

    TopK Router, MoE Expert, Sparse MoE Layer, MoE Transformer Block,
    MoE Transformer, No-Drop Routing, Load Balancing, Training Step

    test_moe.py --work DIR        (moe-compile, moe-run and moe-preprocess on PATH)

Each check compiles and runs models with the project's tools and compares
what the runtime computed against an independent PyTorch computation in fp32
(forward_oracle.py's Hugging Face-style model). The component checks read the
runtime's own activations (`moe-run --dump-activations`) as the component's
input, so a check fails for its own component and not for an earlier one.
Floating-point results must agree within 1e-5 relative
(max|runtime - pytorch| / max|pytorch|), routing decisions and token counts
exactly. Prints one line per check, "✓ name: what was compared" or
"✗ name: what differed", and exits non-zero when any check fails.
"""

import argparse
import json
import math
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch  # noqa: E402
from forward_oracle import Model, read_safetensors  # noqa: E402
from train_oracle import replay  # noqa: E402

SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
MIXTRAL = os.path.join(SOURCE, "test", "oracle", "mixtral-shaped.args")
TINY = os.path.join(SOURCE, "examples", "tiny.yaml")
RTOL = 1e-5


class CheckFailed(Exception):
    pass


def relative(got, want):
    return (got - want).abs().max().item() / max(want.abs().max().item(), 1e-30)


def expect_close(what, got, want, rtol=RTOL):
    if got.shape != want.shape:
        raise CheckFailed("%s: runtime shape %s, pytorch %s"
                          % (what, list(got.shape), list(want.shape)))
    error = relative(got, want)
    if not error <= rtol:
        raise CheckFailed("%s: relative error %.2e exceeds %.0e" % (what, error, rtol))
    return error


def expect_equal(what, got, want):
    if got.shape != want.shape or not torch.equal(got, want):
        mismatched = "shapes %s and %s" % (list(got.shape), list(want.shape)) \
            if got.shape != want.shape else "%d of %d entries" % (
                (got != want).sum().item(), got.numel())
        raise CheckFailed("%s: runtime and pytorch differ (%s)" % (what, mismatched))


class Run:
    """One model evaluated by moe-run with its activations dumped."""

    def __init__(self, tools, name, description, *flags):
        self.dir = tools.work + "/" + name
        plan = self.dir + ".plan"
        tools.sh("moe-compile", description, "--emit=plan", "-o", plan, "--", *flags)
        tools.sh("moe-run", plan, "--data", tools.data, "--split", "1,1", "--eval-iters", "1",
                 "--dump", self.dir, "--dump-activations")
        self.config = json.load(open(self.dir + "/config.json"))
        self.batch = json.load(open(self.dir + "/batch.json"))
        self.metrics = json.load(open(self.dir + "/metrics.json"))
        self.weights = read_safetensors(self.dir + "/weights.safetensors")
        self.act = read_safetensors(self.dir + "/activations.safetensors")
        self.model = Model(self.config, self.weights, training=False)

    def moe_layers(self):
        return ["model.layers.%d" % i for i in self.config["moe_layers"]]

    def block_input(self, layer):
        i = int(layer.rsplit(".", 1)[1])
        return self.act["model.layers.%d" % (i - 1) if i > 0 else "model.embed_tokens"]


class Tools:
    def __init__(self, work):
        self.work = work
        os.makedirs(work, exist_ok=True)
        self.sh("moe-preprocess", "--input", os.path.join(SOURCE, "examples", "corpus", "tiny.jsonl"),
                "--output-prefix", work + "/corpus", "--append-eod")
        self.data = work + "/corpus_text_document"

    def sh(self, *command):
        done = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if done.returncode != 0:
            raise SystemExit("%s failed (exit %d):\n%s" % (" ".join(command), done.returncode,
                                                           done.stderr))
        return done.stdout


def softmax_topk(logits, k):
    """Top-k by a stable sort (the lower expert wins a tie, as the runtime)."""
    return torch.sort(-logits, dim=-1, stable=True).indices[:, :k]


def check_topk_router(ctx):
    run = ctx.mixtral
    k = run.config["topk"]
    worst = [0.0, 0.0]
    for layer in run.moe_layers():
        p = layer + ".block_sparse_moe"
        x = run.act[layer + ".post_attention_layernorm"]
        logits = run.act[p + ".gate"]
        worst[0] = max(worst[0], expect_close(p + ".gate", logits, x @ run.weights[p + ".gate.weight"].T))
        indices = softmax_topk(logits, k)
        expect_equal(p + ".router indices", run.act[p + ".router.indices"].long(), indices)
        weights = torch.softmax(logits.gather(1, indices), dim=-1)
        worst[1] = max(worst[1], expect_close(p + ".router weights", run.act[p + ".router.weights"], weights))
    return "%d layers of top-%d of %d: logits %.1e, weights %.1e, indices identical" % (
        len(run.moe_layers()), k, run.config["num_experts"], worst[0], worst[1])


def check_moe_expert(ctx):
    run = ctx.mixtral
    worst, experts = 0.0, 0
    for layer in run.moe_layers():
        p = layer + ".block_sparse_moe"
        x = run.act[layer + ".post_attention_layernorm"]
        indices = run.act[p + ".router.indices"].long()
        rows = run.act[p + ".permute.rows"]
        row_map = run.act[p + ".permute.row_map"].long()
        sizes = run.act[p + ".permute.group_sizes"].tolist()
        starts = [sum(sizes[:e]) for e in range(len(sizes))]
        # Dispatch: every routed (token, choice) sits in its expert's rows.
        for t in range(indices.shape[0]):
            for j in range(indices.shape[1]):
                e, r = indices[t, j].item(), row_map[t, j].item()
                if not starts[e] <= r < starts[e] + sizes[e] or not torch.equal(rows[r], x[t]):
                    raise CheckFailed("%s: token %d's choice %d (expert %d) is not in row %d"
                                      % (p, t, j, e, r))
        out = run.act[p + ".experts.w2"]
        for e, (start, size) in enumerate(zip(starts, sizes)):
            if size == 0:
                continue
            want = run.model.expert(rows[start:start + size], p, e)
            worst = max(worst, expect_close("%s expert %d" % (p, e), out[start:start + size], want))
            experts += 1
    return "%d experts' SwiGLU FFNs on their dispatched rows: %.1e" % (experts, worst)


def check_sparse_moe_layer(ctx):
    worst = 0.0
    for run in (ctx.mixtral, ctx.capacity):
        for layer in run.moe_layers():
            p = layer + ".block_sparse_moe"
            want, _, _, _ = run.model.moe(run.act[layer + ".post_attention_layernorm"], p)
            worst = max(worst, expect_close(p, run.act[p], want))
    return "routed, weighted and combined, dropless and with capacity, %d layers: %.1e" % (
        len(ctx.mixtral.moe_layers()) + len(ctx.capacity.moe_layers()), worst)


def decoder_layer(run, h, layer):
    """One decoder layer on sequence-major tokens [T, H] (t = s * B + b)."""
    c = run.config
    b, s = c["micro_batch_size"], c["seq_length"]
    batch_major = h.view(s, b, -1).transpose(0, 1)
    attn = run.model.attention(run.model.norm(batch_major, layer + ".input_layernorm"),
                               layer + ".self_attn")
    h = (batch_major + attn).transpose(0, 1).reshape(s * b, -1)
    x = run.model.norm(h, layer + ".post_attention_layernorm")
    out, _, _, _ = run.model.moe(x, layer + ".block_sparse_moe")
    return h + out


def check_moe_transformer_block(ctx):
    run = ctx.mixtral
    worst = 0.0
    for layer in run.moe_layers():
        worst = max(worst, expect_close(layer, run.act[layer],
                                        decoder_layer(run, run.block_input(layer), layer)))
    return "%d decoder layers (GQA attention with RoPE, RMSNorm, MoE): %.1e" % (
        len(run.moe_layers()), worst)


def check_moe_transformer(ctx):
    worst = 0.0
    for run in (ctx.mixtral, ctx.tiny):
        loss, aux, z, counts = run.model.losses(run.batch["tokens"], run.batch["labels"])
        for name, want in (("lm_loss", loss), ("aux_loss", aux), ("z_loss", z)):
            worst = max(worst, expect_close(name, torch.tensor(run.metrics[name]), want))
        if counts != run.metrics["tokens_per_expert"]:
            raise CheckFailed("tokens per expert: runtime %s, pytorch %s"
                              % (run.metrics["tokens_per_expert"], counts))
    return "2 models' lm, aux and z losses: %.1e; tokens per expert identical" % worst


def check_no_drop_routing(ctx):
    run = ctx.mixtral
    k, experts = run.config["topk"], run.config["num_experts"]
    busiest = 0
    for layer in run.moe_layers():
        p = layer + ".block_sparse_moe"
        indices = run.act[p + ".router.indices"].long()
        tokens = indices.shape[0]
        sizes = run.act[p + ".permute.group_sizes"].long()
        if (run.act[p + ".permute.row_map"] < 0).any() or sizes.sum().item() != tokens * k:
            raise CheckFailed("%s: %d of %d routed tokens reached an expert"
                              % (p, sizes.sum().item(), tokens * k))
        expect_equal(p + " tokens per expert", sizes, torch.bincount(indices.flatten(), minlength=experts))
        busiest = max(busiest, sizes.max().item())
    # The same model with capacity factor 1: each expert keeps at most C of
    # its tokens, dropping the lowest routing weights, as PyTorch drops them.
    dropped = 0
    cap = ctx.capacity
    for layer in cap.moe_layers():
        p = layer + ".block_sparse_moe"
        logits = cap.act[p + ".gate"]
        weights, chosen, _ = cap.model.route(logits)
        keep = cap.model.drop(weights, chosen)
        indices = cap.act[p + ".router.indices"].long()
        want = keep.gather(1, indices)
        expect_equal(p + " kept (capacity 1.0)", cap.act[p + ".capacity.keep"], want)
        dropped += (~want).sum().item()
    capacity = math.ceil(tokens * k / experts)
    if busiest <= capacity or dropped == 0:
        raise CheckFailed("the batch never exceeds capacity (busiest expert %d rows, capacity %d)"
                          % (busiest, capacity))
    return ("all %d x %d routed tokens reach their experts (busiest expert %d rows, "
            "%d above capacity 1.0); with capacity 1.0 the same %d drops as PyTorch"
            % (tokens, k, busiest, busiest - capacity, dropped))


def check_load_balancing(ctx):
    run = ctx.mixtral
    c = run.config
    k, experts = c["topk"], c["num_experts"]
    worst = 0.0
    for layer in run.moe_layers():
        p = layer + ".block_sparse_moe"
        logits = run.act[p + ".gate"]
        tokens = logits.shape[0]
        probs = torch.softmax(logits, dim=-1)
        counts = torch.bincount(run.act[p + ".router.indices"].long().flatten(), minlength=experts)
        # Switch/GShard: E / (k T^2) * sum_e (sum_t p_te) * tokens_e, scaled.
        aux = c["aux_loss_coeff"] * experts / (k * tokens * tokens) * (probs.sum(0) * counts).sum()
        z = c["z_loss_coeff"] * torch.logsumexp(logits, dim=-1).pow(2).mean()
        worst = max(worst, expect_close(p + ".aux_loss", run.act[p + ".aux_loss"], aux))
        worst = max(worst, expect_close(p + ".z_loss", run.act[p + ".z_loss"], z))
    # Training with the aux loss spreads the tokens more evenly than without.
    spread = {}
    for coeff in ("0", "0.1"):
        name = ctx.tools.work + "/balance-%s" % coeff
        ctx.tools.sh("moe-compile", MIXTRAL, "--emit=plan", "-o", name + ".plan", "--",
                     "--seq-length", "32", "--moe-aux-loss-coeff", coeff, "--lr", "3e-3",
                     "--moe-per-layer-logging")
        ctx.tools.sh("moe-run", name + ".plan", "--data", ctx.tools.data, "--split", "1,1",
                     "--train-iters", "60", "--log-interval", "5", "--metrics-jsonl",
                     name + ".jsonl")
        rows = [row for row in map(json.loads, open(name + ".jsonl"))
                if "tokens_per_expert" in row][-4:]
        # Coefficient of variation of the tokens per expert, over layers and
        # the last logged steps.
        cvs = [torch.tensor(n, dtype=torch.float64).std(unbiased=False).item()
               / torch.tensor(n, dtype=torch.float64).mean().item()
               for row in rows for n in row["tokens_per_expert"].values()]
        spread[coeff] = sum(cvs) / len(cvs)
    if not spread["0.1"] < spread["0"]:
        raise CheckFailed("tokens per expert vary as much with the aux loss (%.3f) as "
                          "without (%.3f)" % (spread["0.1"], spread["0"]))
    return ("aux and z losses of %d layers: %.1e; after 60 steps the tokens per expert vary "
            "%.3f (coefficient of variation) with aux loss 0.1, %.3f without"
            % (len(run.moe_layers()), worst, spread["0.1"], spread["0"]))


def check_training_step(ctx):
    tools = ctx.tools
    name = tools.work + "/train"
    tools.sh("moe-compile", TINY, "--emit=plan", "-o", name + ".plan")
    tools.sh("moe-run", name + ".plan", "--data", tools.data, "--split", "1,1",
             "--train-iters", "300", "--exit-interval", "5", "--dump", name)
    lines = []
    with torch.enable_grad():
        ok, grads, steps = replay(name, log=lines.append)
    if not ok:
        raise CheckFailed("; ".join(line for line in lines if "MISMATCH" in line))
    return ("step-1 gradients of every parameter: %.1e; losses, LR and grad norm of "
            "5 AdamW steps: %.1e" % (grads, steps))


CHECKS = [
    ("TopK Router", check_topk_router),
    ("MoE Expert", check_moe_expert),
    ("Sparse MoE Layer", check_sparse_moe_layer),
    ("MoE Transformer Block", check_moe_transformer_block),
    ("MoE Transformer", check_moe_transformer),
    ("No-Drop Routing", check_no_drop_routing),
    ("Load Balancing", check_load_balancing),
    ("Training Step", check_training_step),
]


class Context:
    def __init__(self, work):
        self.tools = Tools(work)
        self.mixtral = Run(self.tools, "mixtral", MIXTRAL)
        self.capacity = Run(self.tools, "capacity", MIXTRAL, "--moe-expert-capacity-factor", "1.0",
                            "--moe-token-drop-policy", "probs")
        self.tiny = Run(self.tools, "tiny", TINY)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", required=True, help="directory for plans, data and dumps")
    args = parser.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(2)
    ctx = Context(args.work)
    failed = 0
    for name, check in CHECKS:
        try:
            with torch.no_grad():
                print("✓ %s: %s" % (name, check(ctx)), flush=True)
        except CheckFailed as e:
            print("✗ %s: %s" % (name, e), flush=True)
            failed += 1
    print("%d of %d checks passed" % (len(CHECKS) - failed, len(CHECKS)))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
