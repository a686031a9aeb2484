#!/usr/bin/env python3
"""An independent PyTorch forward pass of a moe-compile model.

Reads what `moe-run --dump DIR` writes when it evaluates (config.json, the
resolved model description; batch.json, the first micro-batch;
weights.safetensors; metrics.json, what the runtime computed), recomputes the
language-model loss, aux loss, z-loss and tokens per expert with PyTorch in
fp32 in eval mode, and exits non-zero when any differs: losses beyond the
relative tolerance, token counts at all.

The model follows Hugging Face's modelling code (batch-major [B, S, H]
activations, rotate_half rotary embeddings, repeat_kv grouped-query attention,
per-expert loops over the routed tokens), not the runtime's kernels.
"""

import argparse
import json
import math
import struct
import sys

import torch
import torch.nn.functional as F


def read_safetensors(path):
    with open(path, "rb") as f:
        (size,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(size))
        data = f.read()
    types = {"F32": torch.float32, "I32": torch.int32, "I64": torch.int64, "BOOL": torch.bool}
    tensors = {}
    for name, desc in header.items():
        if name == "__metadata__":
            continue
        begin, end = desc["data_offsets"]
        values = torch.frombuffer(bytearray(data[begin:end]), dtype=types[desc["dtype"]])
        tensors[name] = values.reshape(desc["shape"]).clone()
    return tensors


class Model:
    """training=False is Megatron's model.eval(): a Sinkhorn router takes the
    plain top-k (input jitter, which this model leaves out, is off too)."""

    def __init__(self, config, weights, training=True):
        self.c = config
        self.w = weights
        self.training = training
        self.dropped = {}  # MoE layer prefix -> tokens its capacity dropped

    def linear(self, x, name, bias=True):
        y = x @ self.w[name + ".weight"].T
        if bias and name + ".bias" in self.w:
            y = y + self.w[name + ".bias"]
        return y

    def norm(self, x, name):
        eps = self.c["norm_epsilon"]
        if self.c["normalization"] == "rmsnorm":
            variance = x.pow(2).mean(-1, keepdim=True)
            return self.w[name + ".weight"] * (x * torch.rsqrt(variance + eps))
        return F.layer_norm(x, x.shape[-1:], self.w[name + ".weight"],
                            self.w[name + ".bias"], eps)

    def rope(self, x):
        # x: [B, heads, S, D], rotate_half convention.
        d = x.shape[-1]
        inv_freq = 1.0 / (self.c["rotary_base"] ** (
            torch.arange(0, d, 2, dtype=torch.int64).float() / d))
        positions = torch.arange(x.shape[2], dtype=torch.float32)
        freqs = torch.outer(positions, inv_freq)
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos(), emb.sin()
        x1, x2 = x[..., : d // 2], x[..., d // 2:]
        rotated = torch.cat((-x2, x1), dim=-1)
        return x * cos + rotated * sin

    def attention(self, x, prefix):
        b, s, _ = x.shape
        heads, kv, d = self.c["num_attention_heads"], self.c["num_kv_heads"], self.c["head_dim"]
        q = self.linear(x, prefix + ".q_proj").view(b, s, heads, d).transpose(1, 2)
        k = self.linear(x, prefix + ".k_proj").view(b, s, kv, d).transpose(1, 2)
        v = self.linear(x, prefix + ".v_proj").view(b, s, kv, d).transpose(1, 2)
        if self.c["position_embedding_type"] == "rope":
            q, k = self.rope(q), self.rope(k)
        k = k.repeat_interleave(heads // kv, dim=1)
        v = v.repeat_interleave(heads // kv, dim=1)
        scores = q @ k.transpose(2, 3) / math.sqrt(d)
        mask = torch.triu(torch.ones(s, s, dtype=torch.bool), diagonal=1)
        scores = scores.masked_fill(mask, float("-inf"))
        out = torch.softmax(scores, dim=-1) @ v
        return self.linear(out.transpose(1, 2).reshape(b, s, heads * d), prefix + ".o_proj")

    def mlp(self, x, prefix):
        up = self.linear(x, prefix + ".up_proj")
        if self.c["activation"] == "swiglu":
            hidden = F.silu(self.linear(x, prefix + ".gate_proj")) * up
        else:
            hidden = F.gelu(up)
        return self.linear(hidden, prefix + ".down_proj")

    def expert(self, x, prefix, e):
        name = prefix + ".experts.%d" % e
        up = x @ self.w[name + ".w1.weight"].T
        if self.c["activation"] == "swiglu":
            hidden = F.silu(up) * (x @ self.w[name + ".w3.weight"].T)
        else:
            hidden = F.gelu(up)
        return hidden @ self.w[name + ".w2.weight"].T

    def route(self, logits):
        """Returns combine weights [T, E] (0 where unrouted), the routing
        choice as a boolean [T, E] before any drop, and the aux loss."""
        c = self.c
        t, e = logits.shape
        probs = torch.softmax(logits, dim=-1)
        if c["router"] == "expert_choice":
            capacity = min(max(round(t * c["capacity_factor"] / e), 1), t)
            chosen = torch.zeros(t, e, dtype=torch.bool)
            for expert in range(e):
                # Stable: the lower token index wins a tie.
                order = sorted(range(t), key=lambda i: -probs[i, expert].item())
                chosen[order[:capacity], expert] = True
            return probs * chosen, chosen, torch.tensor(0.0)
        k = c["topk"]
        if c["router"] == "sinkhorn" and self.training:
            indices = self.sinkhorn(logits, k)
        else:
            # torch.topk is not stable on ties; a stable sort puts the lower
            # expert index first.
            indices = torch.sort(-logits, dim=-1, stable=True).indices[:, :k]
        chosen = torch.zeros(t, e, dtype=torch.bool)
        chosen.scatter_(1, indices, True)
        if c["router"] == "sinkhorn":
            picked = torch.sigmoid(logits.gather(1, indices)) if k == 1 else probs.gather(1, indices)
        elif c["router_pre_softmax"]:
            picked = probs.gather(1, indices)
        else:
            picked = torch.softmax(logits.gather(1, indices), dim=-1)
        weights = torch.zeros(t, e).scatter(1, indices, picked)
        aux = torch.tensor(0.0)
        if c["router"] == "topk" and c["load_balancing"] != "none" and c["aux_loss_coeff"] > 0:
            aux = self.aux_loss(probs, chosen, k)
        return weights, chosen, aux

    def aux_loss(self, probs, chosen, k):
        c = self.c
        e = probs.shape[1]

        def loss(p, routed):
            t = p.shape[0]
            return e / (k * t * t) * (p.sum(0) * routed.sum(0).float()).sum()

        if c["load_balancing"] == "seq_aux_loss":
            b, s = c["micro_batch_size"], c["seq_length"]
            # Token t = s * B + b: sequence b is every B-th token from b.
            per_seq = [loss(probs[i::b], chosen[i::b]) for i in range(b)]
            return c["aux_loss_coeff"] * torch.stack(per_seq).mean()
        return c["aux_loss_coeff"] * loss(probs, chosen)

    def sinkhorn(self, logits, k, tol=1e-4):
        cost = torch.exp(logits.double())
        t, e = cost.shape
        d0 = torch.ones(t, dtype=torch.float64)
        d1 = torch.ones(e, dtype=torch.float64)
        error = 1e9
        while error > tol:
            d0 = (1.0 / t) / (cost @ d1 + 1e-8)
            previous = d1
            d1 = (1.0 / e) / (d0 @ cost + 1e-8)
            error = (d1 - previous).abs().mean()
        balanced = (d1 * cost * d0.unsqueeze(1)).float()
        return torch.sort(-balanced, dim=-1, stable=True).indices[:, :k]

    def drop(self, weights, chosen):
        """Applies the capacity: returns the kept mask [T, E]."""
        c = self.c
        if c["capacity_factor"] is None or c["router"] == "expert_choice":
            return chosen
        t, e = chosen.shape
        capacity = math.ceil(t * c["topk"] / e * c["capacity_factor"])
        keep = torch.zeros_like(chosen)
        for expert in range(e):
            tokens = [i for i in range(t) if chosen[i, expert]]
            if c["drop_policy"] == "probs":
                tokens = sorted(tokens, key=lambda i: -weights[i, expert].item())
            keep[tokens[:capacity], expert] = True
        return keep

    def moe(self, x, prefix):
        c = self.c
        t = x.shape[0]
        logits = x @ self.w[prefix + ".gate.weight"].T
        z = torch.tensor(0.0)
        if c["z_loss_coeff"] > 0:
            z = c["z_loss_coeff"] * torch.logsumexp(logits, dim=-1).pow(2).mean()
        weights, chosen, aux = self.route(logits)
        keep = self.drop(weights, chosen)
        out = torch.zeros_like(x)
        for e in range(logits.shape[1]):
            tokens = keep[:, e].nonzero().flatten()
            if len(tokens):
                out[tokens] += weights[tokens, e].unsqueeze(1) * self.expert(x[tokens], prefix, e)
        if c["shared_expert_ffn_hidden_size"]:
            shared = self.mlp(x, prefix + ".shared_expert")
            if c["shared_expert_gate"]:
                shared = torch.sigmoid(x @ self.w[prefix + ".shared_expert_gate.weight"].T) * shared
            out = out + shared
        # The tokens the experts take; with a capacity the others are dropped.
        if c["capacity_factor"] and c["router"] != "expert_choice":
            self.dropped[prefix] = int((chosen & ~keep).sum())
        return out, aux, z, keep.sum(0).tolist()

    def forward(self, tokens, labels):
        loss, aux, z, counts = self.losses(tokens, labels)
        return loss.item(), aux.item(), z.item(), counts

    def losses(self, tokens, labels):
        """The language-model loss, aux loss and z-loss as (differentiable)
        scalar tensors, and the tokens per expert of each MoE layer."""
        c = self.c
        b, s = c["micro_batch_size"], c["seq_length"]
        # The runtime's tokens are sequence-major (t = s * B + b).
        ids = torch.tensor(tokens).view(s, b).T
        targets = torch.tensor(labels).view(s, b).T
        h = self.w["model.embed_tokens.weight"][ids]
        if c["position_embedding_type"] == "learned_absolute":
            h = h + self.w["model.embed_positions.weight"][torch.arange(s)]
        aux_total, z_total, counts = torch.tensor(0.0), torch.tensor(0.0), {}
        self.dropped = {}
        for i in range(c["num_layers"]):
            prefix = "model.layers.%d" % i
            h = h + self.attention(self.norm(h, prefix + ".input_layernorm"), prefix + ".self_attn")
            x = self.norm(h, prefix + ".post_attention_layernorm")
            if i in c["moe_layers"]:
                # Routing sees the tokens in the runtime's order, so that ties
                # and capacity drops resolve the same way.
                flat = x.transpose(0, 1).reshape(s * b, -1)
                out, aux, z, counted = self.moe(flat, prefix + ".block_sparse_moe")
                h = h + out.view(s, b, -1).transpose(0, 1)
                aux_total, z_total = aux_total + aux, z_total + z
                counts[str(i)] = counted
            else:
                h = h + self.mlp(x, prefix + ".mlp")
        h = self.norm(h, "model.norm")
        head = self.w["model.embed_tokens.weight"] if c["tie_embeddings"] else self.w["lm_head.weight"]
        logits = h @ head.T
        loss = F.cross_entropy(logits.reshape(b * s, -1), targets.reshape(-1))
        return loss, aux_total, z_total, counts


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("dump", help="the directory moe-run --dump wrote")
    parser.add_argument("--rtol", type=float, default=1e-5)
    parser.add_argument("--rotary-base", type=float,
                        help="the base the description gives, used instead of "
                        "the dump's (which the compiler wrote)")
    args = parser.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(2)
    with open(args.dump + "/config.json") as f:
        config = json.load(f)
    if args.rotary_base is not None:
        config["rotary_base"] = args.rotary_base
    with open(args.dump + "/batch.json") as f:
        batch = json.load(f)
    # Each label is the token after its position: with t = s * B + b, the
    # label of (s, b) is the token of (s + 1, b); the last position's comes
    # from the sample's extra token.
    b, s = config["micro_batch_size"], config["seq_length"]
    aligned = all(batch["labels"][t] == batch["tokens"][t + b]
                  for t in range((s - 1) * b))
    print("labels: the next token at %d positions  %s"
          % ((s - 1) * b, "ok" if aligned else "MISMATCH"))
    with open(args.dump + "/metrics.json") as f:
        runtime = json.load(f)
    weights = read_safetensors(args.dump + "/weights.safetensors")
    with torch.no_grad():
        model = Model(config, weights, training=False)
        loss, aux, z, counts = model.forward(batch["tokens"], batch["labels"])

    ok = aligned
    worst = 0.0
    for name, want in (("lm_loss", loss), ("aux_loss", aux), ("z_loss", z)):
        got = runtime[name]
        error = abs(got - want) / max(abs(want), 1e-30) if want != 0 else abs(got)
        worst = max(worst, error)
        verdict = "ok" if error <= args.rtol else "MISMATCH"
        print("%-8s runtime %.9g  pytorch %.9g  relative error %.2e  %s" % (name, got, want, error, verdict))
        ok &= error <= args.rtol
    for layer, want in counts.items():
        got = runtime["tokens_per_expert"].get(layer)
        verdict = "ok" if got == want else "MISMATCH"
        print("tokens per expert, layer %s: runtime %s  pytorch %s  %s" % (layer, got, want, verdict))
        ok &= got == want
        want_dropped = model.dropped.get("model.layers.%s.block_sparse_moe" % layer)
        if want_dropped is not None:
            got_dropped = runtime.get("dropped_tokens", {}).get(layer)
            verdict = "ok" if got_dropped == want_dropped else "MISMATCH"
            print("dropped tokens, layer %s: runtime %s  pytorch %s  %s" % (layer, got_dropped, want_dropped, verdict))
            ok &= got_dropped == want_dropped
    print("worst relative error %.2e (tolerance %.0e)" % (worst, args.rtol))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
