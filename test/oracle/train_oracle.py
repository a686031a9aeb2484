#!/usr/bin/env python3
"""An independent PyTorch replay of moe-run's training steps.

Reads what `moe-run --train-iters N --dump DIR` writes (config.json, the
resolved model and training description; weights.safetensors, the initial
parameters; grads.safetensors, the gradients of step 1 summed over its
micro-batches; final_weights.safetensors, the parameters after the last
step; steps.json, per optimizer step the losses, learning rate,
gradient norm and micro-batches the runtime used) and, with the model of
forward_oracle.py run under autograd:

1. recomputes step 1's gradients of lm_loss + aux_loss + z_loss, summed over
   the step's micro-batches, and compares each parameter's with the runtime's:
   max|runtime - pytorch| / max|pytorch| within --grad-rtol;
2. replays every step on the same micro-batches with Megatron's learning-rate
   schedule, global-norm clipping of the micro-batch-averaged gradient and
   torch.optim.AdamW, and compares each step's losses, learning rate and
   gradient norm with the runtime's within --rtol;
3. compares every parameter after the last step (final_weights.safetensors)
   with the replay's: max|runtime - pytorch| within --rtol of the tensor's
   largest weight plus --weight-tol-lr of the summed learning rates, and
   checks that the weights moved.

Exits non-zero when anything differs beyond its tolerance.
"""

import argparse
import json
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from forward_oracle import Model, read_safetensors  # noqa: E402


def learning_rate(c, step):
    """Megatron's OptimizerParamScheduler.get_lr after step - 1 steps."""
    k = step - 1
    lr, min_lr = c["lr"], c["min_lr"]
    # Without lr_decay_iters the decay spans the run (train_iters).
    warmup = c["lr_warmup_iters"]
    decay = c["lr_decay_iters"] or c["train_iters"]
    style = c["lr_decay_style"]
    if warmup > 0 and k <= warmup:
        return lr * k / warmup
    if style == "constant":
        return lr
    if k > decay:
        return min_lr
    r = (k - warmup) / (decay - warmup)
    if style == "linear":
        coeff = 1.0 - r
    elif style == "cosine":
        coeff = 0.5 * (math.cos(math.pi * r) + 1.0)
    else:
        sys.exit("unsupported lr_decay_style %r" % style)
    return min_lr + coeff * (lr - min_lr)


def relative(got, want):
    return abs(got - want) / abs(want) if want != 0 else abs(got)


def gradient_error(got, want):
    """max|got - want| / max|want|; infinite when either holds a NaN."""
    error = (got - want).abs().max().item() / max(want.abs().max().item(), 1e-30)
    return math.inf if math.isnan(error) else error


def replay(dump, grad_rtol=1e-5, rtol=1e-4, log=print, weight_tol_lr=0.0):
    """Replays the run `moe-run --dump` wrote to `dump`, logging a line per
    comparison; returns whether all agree, and the worst relative errors of
    the step-1 gradients and of the per-step numbers."""
    with open(dump + "/config.json") as f:
        config = json.load(f)
    with open(dump + "/steps.json") as f:
        steps = json.load(f)
    if config["input_jitter_eps"] > 0:
        raise SystemExit("input jitter draws its own noise; compare a model without it")
    params = read_safetensors(dump + "/weights.safetensors")
    start = {name: p.clone() for name, p in params.items()}
    for p in params.values():
        p.requires_grad_(True)
    runtime_grads = read_safetensors(dump + "/grads.safetensors")
    model = Model(config, params)

    micro = config["global_batch_size"] // config["micro_batch_size"]
    clip = config["clip_grad"]
    decay, no_decay = [], []
    for name, p in params.items():
        (no_decay if p.dim() < 2 or name.endswith(".bias") else decay).append(p)
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": config["weight_decay"]},
         {"params": no_decay, "weight_decay": 0.0}],
        lr=0.0, betas=(config["adam_beta1"], config["adam_beta2"]), eps=config["adam_eps"])

    log("replaying %d steps of %d micro-batches (global batch %d, micro-batch %d)"
        % (len(steps), micro, config["global_batch_size"], config["micro_batch_size"]))
    ok = True
    grad_worst, grad_worst_name = 0.0, None
    loss_worst = 0.0
    for entry in steps:
        step = entry["step"]
        batches = entry["micro_batches"]
        if len(batches) != micro:
            log("step %d has %d micro-batches, the description %d  MISMATCH"
                % (step, len(batches), micro))
            ok = False
        optimizer.zero_grad(set_to_none=True)
        totals = {"lm_loss": 0.0, "aux_loss": 0.0, "z_loss": 0.0}
        for batch in batches:
            loss, aux, z, _ = model.losses(batch["tokens"], batch["labels"])
            (loss + aux + z).backward()
            totals["lm_loss"] += loss.item()
            totals["aux_loss"] += aux.item()
            totals["z_loss"] += z.item()
        for p in params.values():
            if p.grad is None:
                p.grad = torch.zeros_like(p)

        # (1) Step 1's summed gradients, before clipping, against the runtime's.
        if step == 1:
            if set(runtime_grads) != set(params):
                log("gradient names differ: runtime only %s, parameters only %s  MISMATCH"
                    % (sorted(set(runtime_grads) - set(params)),
                       sorted(set(params) - set(runtime_grads))))
                ok = False
            for name, p in params.items():
                if name not in runtime_grads:
                    continue
                want, got = p.grad, runtime_grads[name]
                if got.shape != want.shape:
                    log("gradient %s: runtime shape %s, pytorch %s  MISMATCH"
                        % (name, list(got.shape), list(want.shape)))
                    ok = False
                    continue
                error = gradient_error(got, want)
                if not error <= grad_rtol:
                    log("gradient %s: max|runtime - pytorch| %.3g, max|pytorch| %.3g, "
                        "relative error %.2e  MISMATCH"
                        % (name, (got - want).abs().max().item(),
                           want.abs().max().item(), error))
                    ok = False
                if error >= grad_worst:
                    grad_worst, grad_worst_name = error, name
            log("step 1 gradients of %d parameters: worst relative error %.2e (%s)  %s"
                % (len(params), grad_worst, grad_worst_name,
                   "ok" if grad_worst <= grad_rtol else "MISMATCH"))

        # (2) The optimizer step: global norm of the averaged gradient,
        # clipping, the schedule's rate and AdamW.
        squares = sum(p.grad.double().pow(2).sum() for p in params.values())
        grad_norm = math.sqrt(squares.item()) / micro
        factor = 1.0 / micro
        if clip > 0:
            factor *= min(1.0, clip / (grad_norm + 1e-6))
        lr = learning_rate(config, step)
        for p in params.values():
            p.grad.mul_(factor)
        for group in optimizer.param_groups:
            group["lr"] = lr
        optimizer.step()

        values = {name: total / len(batches) for name, total in totals.items()}
        values["lr"] = lr
        values["grad_norm"] = grad_norm
        for name in ("lm_loss", "aux_loss", "z_loss", "lr", "grad_norm"):
            got, want = entry[name], values[name]
            error = relative(got, want)
            loss_worst = max(loss_worst, error)
            verdict = "ok" if error <= rtol else "MISMATCH"
            ok &= error <= rtol
            log("step %d %-9s runtime %.9g  pytorch %.9g  relative error %.2e  %s"
                % (step, name, got, want, error, verdict))

    # (3) The weights after the last step, tensor by tensor: within rtol of
    # the tensor's largest weight, plus weight_tol_lr of the summed rates.
    final = read_safetensors(dump + "/final_weights.safetensors")
    rates = sum(entry["lr"] for entry in steps)
    weight_worst, weight_worst_name, weight_worst_diff = 0.0, None, 0.0
    for name, p in params.items():
        want = p.detach()
        diff = (final[name] - want).abs().max().item()
        allowed = rtol * want.abs().max().item() + weight_tol_lr * rates
        ratio = math.inf if math.isnan(diff) else diff / max(allowed, 1e-30)
        if ratio >= weight_worst:
            weight_worst, weight_worst_name, weight_worst_diff = ratio, name, diff
    moved = max((final[name] - start[name]).abs().max().item() for name in params)
    weights_ok = weight_worst <= 1.0 and moved > 0
    ok &= weights_ok
    log("weights after step %d: max|runtime - pytorch| %.2e in %s, %.2f of its "
        "tolerance; largest change %.2e  %s"
        % (len(steps), weight_worst_diff, weight_worst_name, weight_worst,
           moved, "ok" if weights_ok else "MISMATCH"))

    log("worst relative error %.2e (tolerance %.0e), gradients %.2e (tolerance %.0e)"
        % (loss_worst, rtol, grad_worst, grad_rtol))
    return ok, grad_worst, loss_worst


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("dump", help="the directory moe-run --train-iters N --dump wrote")
    parser.add_argument("--grad-rtol", type=float, default=1e-5)
    parser.add_argument("--rtol", type=float, default=1e-4)
    parser.add_argument("--weight-tol-lr", type=float, default=0.0,
                        help="weights may also differ by this fraction of "
                        "the summed learning rates (see train.test)")
    args = parser.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(2)
    ok, _, _ = replay(args.dump, args.grad_rtol, args.rtol,
                      weight_tol_lr=args.weight_tol_lr)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
