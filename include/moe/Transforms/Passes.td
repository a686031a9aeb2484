//===- Passes.td - the project's passes -----------------------*- tablegen -*-===//

#ifndef MOE_TRANSFORMS_PASSES_TD
#define MOE_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def PlanMemory : Pass<"moe-plan-memory", "::mlir::func::FuncOp"> {
  let summary = "Assign every activation an offset in one arena";
  let description = [{
    Buffer assignment for a straight-line function: every tensor result of an
    op (not constants, which the plan stores, nor the function's arguments,
    which are parameters and inputs) is a buffer, live from the op that
    defines it to its last use, or to the end when it is returned. The
    results of routing ops (moe.topk, moe.sinkhorn, moe.expert_choice) live to
    the end: the runtime reads them after the step to count tokens per
    expert. Buffers
    are placed largest first at the lowest offset (aligned to 64 bytes) that
    does not overlap a buffer whose live range meets theirs, so an op's
    outputs never alias its inputs. A result returned as `moe.update` (an
    in-place update of a parameter or optimizer state) takes no arena space.

    Each op gets `moe.offsets`, one byte offset per result; the function gets
    `moe.arena_bytes` (the arena's size) and `moe.peak_live_bytes` (the
    largest total of simultaneously live buffers, a lower bound on any arena),
    and `moe.buffer_bytes` (all buffers laid end to end).
  }];
  let dependentDialects = [];
}

def Autodiff : Pass<"moe-autodiff", "::mlir::ModuleOp"> {
  let summary = "Build @forward_backward: the losses and every parameter's gradient";
  let description = [{
    Reverse mode over `func.func @forward` (one block, straight line). A copy
    named `@forward_backward` keeps the forward ops and gains, after them, the
    vector-Jacobian product of every op in reverse order, each written by the
    op itself through `DifferentiableOpInterface`; a value with several uses
    sums its gradients with `nn.add`. The seed is 1 for each returned loss
    (language-model, aux and z-loss), the gradient of their sum as in
    Megatron, although only the language-model loss is reported as the loss.

    The function returns the losses, then one gradient per `moe.param`
    argument in argument order, each marked `moe.grad = "<parameter name>"`
    (zeros where a parameter does not reach the losses). Routing decisions
    carry no gradient, so the aux and z-losses reach the parameters only
    through the router logits. An op that a gradient reaches without the
    interface is an error.
  }];
  let dependentDialects = ["::mlir::nn::NNDialect", "::mlir::arith::ArithDialect"];
}

def Optimizer : Pass<"moe-optimizer", "::mlir::ModuleOp"> {
  let summary = "Accumulate gradients and build @optimizer_step (AdamW)";
  let description = [{
    Turns the graph of moe-autodiff into a training step in two functions:

    - `@forward_backward` adds each gradient into an accumulator argument
      (`moe.state = "grad.<name>"`) and returns the sum as the accumulator's
      new value (`moe.update`); an embedding, linear or grouped GEMM weight
      gradient that is a parameter's whole gradient adds into the
      accumulator itself (its `accumulate` operand), with no buffer of its
      own; the runtime zeroes the accumulators at the
      start of each optimizer step and runs this function once per
      micro-batch.
    - `@optimizer_step(step, params, grads, exp_avg, exp_avg_sq)` computes the
      learning rate (`nn.lr_schedule`: warmup, then constant, linear or cosine
      decay to `min_lr` over `decay-iters`; with `decay-iters=0` a decaying
      schedule spans the training run, whose length becomes the input
      `train_iters`, the argument after `step`), the global gradient norm and its clipping factor
      (`nn.clip_grad_norm`, averaging over `micro-batches`), and one
      `nn.adamw` per parameter with the factor as its `grad_scale`; biases
      and 1-D parameters (norm weights) get no weight decay, as in Megatron.
      It returns `lr` and `grad_norm`, then the new parameters and moments,
      each marked `moe.update` with the persistent tensor it replaces.

    With `world-size = W > 1` every rank accumulates its own micro-batches,
    and the step first sums each gradient over the ranks that hold a copy of
    its parameter (`moe.all_reduce`): over `dp` (all W ranks) for a dense
    parameter, over `edp` (the W / ep ranks holding the same experts) for
    one marked `moe.expert_shards`. The clipping scale becomes
    `1 / (micro-batches * W)`, the mean over the global batch; with expert
    shards the norm's expert part is summed over the `ep` group
    (`nn.square_norm`, `moe.all_reduce`, `nn.clip_factor`), as Megatron
    computes the global norm.

    With `distributed-optimizer` (Megatron's distributed optimizer) each
    parameter that W > 1 ranks hold is laid out flat and zero-padded to a
    multiple of their number (`moe.flatten`); the sum of the gradient is
    reduce-scattered so that each holder keeps one slice, each holder updates
    its slice of the parameter (`moe.local_shard`) with its slice of the
    moments, which are all it stores (`moe.flat_shards`), and an
    `moe.all_gather` and `moe.unflatten` rebuild the parameter on every
    holder. The norm sums the squares of every rank's slices over the world.
  }];
  let options = [
    Option<"lr", "lr", "double", "1e-4", "peak learning rate">,
    Option<"minLr", "min-lr", "double", "0.0", "learning rate after decay">,
    Option<"warmupIters", "warmup-iters", "int64_t", "0", "linear warmup steps">,
    Option<"decayIters", "decay-iters", "int64_t", "0",
           "steps until min-lr (0: the length of the training run)">,
    Option<"decayStyle", "decay-style", "std::string", "\"linear\"",
           "constant, linear or cosine">,
    Option<"beta1", "beta1", "double", "0.9", "AdamW beta1">,
    Option<"beta2", "beta2", "double", "0.999", "AdamW beta2">,
    Option<"eps", "eps", "double", "1e-8", "AdamW epsilon">,
    Option<"weightDecay", "weight-decay", "double", "0.01",
           "decoupled weight decay of matrices">,
    Option<"clipGrad", "clip-grad", "double", "1.0",
           "global gradient-norm bound (0: no clipping)">,
    Option<"microBatches", "micro-batches", "int64_t", "1",
           "micro-batches accumulated per step on each rank">,
    Option<"worldSize", "world-size", "int64_t", "1",
           "ranks of the launch, each a data-parallel rank">,
    Option<"expertParallel", "ep", "int64_t", "1",
           "ranks that split the experts (moe-partition-experts' ep)">,
    Option<"distributed", "distributed-optimizer", "bool", "false",
           "shard the AdamW state over the ranks holding each parameter">,
  ];
  let dependentDialects = ["::mlir::nn::NNDialect", "::mlir::moe::MoeDialect"];
}

def Recompute : Pass<"moe-recompute", "::mlir::ModuleOp"> {
  let summary = "Recompute the MoE layers in the backward pass";
  let description = [{
    Megatron's `moe_layer_recompute`: instead of keeping an MoE layer's
    activations (router logits, routing, the permuted rows, the expert GEMMs'
    inputs and outputs) from the forward pass to the backward pass, clone the
    layer's forward ops (its moe ops and the activations between the grouped
    GEMMs) right before the first backward op that needs them, and have the
    backward ops read the clones (marked `moe.recomputed`). The originals
    then die inside the forward pass; only the layer's input stays live. The
    recomputation runs the same kernels on the same inputs (the jitter noise
    follows the same seed), so the gradients are unchanged. Runs on
    `@forward_backward` after moe-autodiff.
  }];
}

def EvalMode : Pass<"moe-eval-mode", "::mlir::ModuleOp"> {
  let summary = "Turn @forward into the evaluation graph";
  let description = [{
    The graph builder writes `@forward` as training computes it; evaluation,
    as in Megatron's `model.eval()`, differs in two places. Input jitter
    (`moe.jitter`) is training-only noise: its uses read its input instead.
    A Sinkhorn router does not balance: `moe.sinkhorn` gets `evaluation` and
    chooses the top-k of the logits. Everything else, the aux and z-losses
    included, is computed as in training, so validation reports the same
    losses. Run after moe-autodiff, which copies the training-mode `@forward`
    into `@forward_backward`; other functions are left alone.
  }];
}

def PartitionExperts : Pass<"moe-partition-experts", "::mlir::ModuleOp"> {
  let summary = "Shard the experts over the ranks of an ep group";
  let description = [{
    Makes the graph builder's `@forward` an SPMD program for expert
    parallelism `ep`: member `p` of each group of `ep` ranks holds the experts
    `[p * E / ep, (p + 1) * E / ep)`. Each expert weight argument keeps only
    that slice (`moe.expert_shards = ep`), and around the experts of every
    MoE layer the alltoall dispatcher (the default) moves the permuted rows
    to the members that hold their experts and back:

    1. `moe.all_gather` of the permutation's `group_sizes` over `ep` and
       `moe.dispatch_counts`: the split sizes of this member;
    2. `moe.all_to_all_v` of the rows (a buffer of `ep` times the local
       rows, the bound when every token goes to one member), then
       `moe.sort_chunks` to make each local expert's rows contiguous;
    3. the grouped GEMMs and activation over the local experts;
    4. `moe.sort_chunks inverse` and `moe.all_to_all_v` back, then the
       unchanged `moe.unpermute`.

    With `dispatcher=allgather` every member instead gathers the tokens,
    routing entries, masks and combine weights of the whole group
    (`moe.all_gather`), keeps the entries of its own experts
    (`moe.local_experts`), permutes, runs and combines them, and a
    `moe.reduce_scatter` sums the members' shares and returns each member its
    own tokens. With `dispatcher=replicated` (the minimal pretraining guide's
    expert parallelism) the members of a group already hold the same tokens:
    each one keeps its experts' entries, and a `moe.all_reduce` sums the
    outputs.

    Routing, capacity and the aux loss stay on each rank's own tokens, as in
    Megatron. moe-autodiff mirrors the collectives in the backward pass.
    `ep = 1` leaves the graph as it is.
  }];
  let options = [
    Option<"expertParallel", "ep", "int64_t", "1",
           "ranks that split the experts (expert_model_parallel_size)">,
    Option<"dispatcher", "dispatcher", "std::string", "\"alltoall\"",
           "alltoall, allgather or replicated (moe_token_dispatcher_type)">,
  ];
  let dependentDialects = ["::mlir::moe::MoeDialect"];
}

#endif // MOE_TRANSFORMS_PASSES_TD
