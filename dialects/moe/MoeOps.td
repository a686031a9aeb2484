//===- MoeOps.td - operations of the moe dialect --------------*- tablegen -*-===//

#ifndef MOE_OPS_TD
#define MOE_OPS_TD

include "MoeDialect.td"
include "MoeEnums.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "moe/Interfaces/DifferentiableOpInterface.td"
include "moe/Interfaces/RoutingOpInterface.td"

//===----------------------------------------------------------------------===//
// Routing
//===----------------------------------------------------------------------===//

def Moe_RouterOp : Moe_Op<"router", [Pure, Differentiable]> {
  let summary = "router logits in fp32";
  let description = [{
    `logits[t, e] = sum_h input[t, h] * weight[e, h]`, accumulated and returned
    in fp32 whatever the input precision. The weight is `[E, H]`, the layout of
    a Hugging Face `gate.weight`.

    ```mlir
    %logits = moe.router %x, %wr : tensor<16x64xf32>, tensor<8x64xf32> -> tensor<16x8xf32>
    ```
  }];
  let arguments = (ins Moe_FloatTensor:$input, Moe_FloatTensor:$weight);
  let results = (outs Moe_F32Tensor:$logits);
  let assemblyFormat = [{
    $input `,` $weight attr-dict `:` type($input) `,` type($weight) `->` type($logits)
  }];
}

def Moe_JitterOp : Moe_Op<"jitter", [Differentiable, AllTypesMatch<["input", "output"]>]> {
  let summary = "multiplicative input jitter (training only)";
  let description = [{
    `output = input * u` with `u ~ U(1 - eps, 1 + eps)` drawn independently per
    element from a counter-based generator keyed by `seed`. It applies in
    training only; an evaluation graph does not contain it. `0 < eps < 1`.

    ```mlir
    %y = moe.jitter %x, %seed eps = 1.000000e-02 : tensor<16x64xf32>
    ```
  }];
  let arguments = (ins Moe_FloatTensor:$input, I64:$seed, F64Attr:$eps);
  let results = (outs Moe_FloatTensor:$output);
  let assemblyFormat = "$input `,` $seed `eps` `=` $eps attr-dict `:` type($input)";
}

def Moe_TopKOp : Moe_Op<"topk", [Pure, Differentiable, RoutingOpInterface]> {
  let summary = "token-choice top-k routing (Switch when k = 1)";
  let description = [{
    Selects for every token the `k` experts with the largest logits; on equal
    logits the lower expert index wins. `indices[t, j]` is the `j`-th choice.

    - `softmax = post` (Megatron's default, Mixtral): `weights[t, :]` is the
      softmax over the `k` selected logits, equal to softmax over all experts,
      then top-k, then renormalisation.
    - `softmax = pre`: `weights[t, j] = softmax(logits[t, :])[indices[t, j]]`,
      not renormalised.

    `1 <= k <= E`. Top-1 with `softmax = post` gives every token weight 1 and
    the router no gradient, so it is rejected: Switch routing is
    `k = 1, softmax = pre`.

    ```mlir
    %w, %idx = moe.topk %logits k = 2 softmax = post
        : tensor<16x8xf32> -> tensor<16x2xf32>, tensor<16x2xi32>
    ```
  }];
  let arguments = (ins Moe_F32Tensor:$logits, I64Attr:$k,
                       Moe_SoftmaxPlacement:$softmax);
  let results = (outs Moe_F32Tensor:$weights, Moe_I32Tensor:$indices);
  let assemblyFormat = [{
    $logits `k` `=` $k `softmax` `=` $softmax attr-dict `:` type($logits) `->`
    type($weights) `,` type($indices)
  }];
}

def Moe_SinkhornOp : Moe_Op<"sinkhorn", [Pure, Differentiable,
    DeclareOpInterfaceMethods<RoutingOpInterface, ["convertToEvaluation"]>]> {
  let summary = "Sinkhorn-balanced routing (S-BASE)";
  let description = [{
    With `cost = exp(logits)` in fp32 (no gradient flows through it), iterate

      `d0 = (1/T) / (cost . d1 + 1e-8)`, `d1 = (1/E) / (d0^T . cost + 1e-8)`

    from `d1 = 1` until `mean |d1 - d1_prev| < tol`. The top-k of
    `d1 * cost * d0` chooses the experts (lower index on ties); the combine
    weights are the full softmax of the logits at the chosen experts, or
    `sigmoid(logit)` when `k = 1`. With `evaluation` there is no balancing:
    the top-k of the logits chooses, with the same weights, as Megatron
    evaluates a Sinkhorn router. It does not combine with the aux loss or with
    capacity; the z-loss still applies. `1 <= k <= E`, `tol > 0`.

    ```mlir
    %w, %idx = moe.sinkhorn %logits k = 1 : tensor<16x8xf32> -> tensor<16x1xf32>, tensor<16x1xi32>
    %w, %idx = moe.sinkhorn %logits k = 2 evaluation : tensor<16x8xf32> -> tensor<16x2xf32>, tensor<16x2xi32>
    ```
  }];
  let arguments = (ins Moe_F32Tensor:$logits, I64Attr:$k,
                       DefaultValuedAttr<F64Attr, "1.0e-4">:$tol,
                       UnitAttr:$evaluation);
  let results = (outs Moe_F32Tensor:$weights, Moe_I32Tensor:$indices);
  let assemblyFormat = [{
    $logits `k` `=` $k (`evaluation` $evaluation^)? attr-dict `:` type($logits)
    `->` type($weights) `,` type($indices)
  }];
}

def Moe_ExpertChoiceOp : Moe_Op<"expert_choice", [Pure, Differentiable,
    DeclareOpInterfaceMethods<RoutingOpInterface, ["getRoutingMask"]>]> {
  let summary = "expert-choice routing: each expert picks its tokens";
  let description = [{
    `p = softmax(logits)` over experts in fp32; expert `e` takes the `C` tokens
    with the largest `p[:, e]` (lower token index on ties), with
    `C = round(capacity_factor * T / E)` clamped to `[1, T]`, rounding half
    to even as Flaxformer's Python `round` does (T = 20, E = 8, factor 1:
    C = 2). There is no aux loss. A token may be chosen by zero or several experts, and the choice
    looks at every token of the batch, so in a decoder the routing is not
    causal.

    The results use the `[T, E]` token-choice layout of `moe.capacity`, so the
    usual dispatch applies: `indices[t, e] = e`, `keep[t, e]` tells whether
    expert `e` chose token `t`, and `weights[t, e]` is `p[t, e]` when it did and
    0 otherwise. `moe.permute` with `capacity = C` and this mask gives every
    expert exactly `C` rows. `capacity_factor > 0`.

    ```mlir
    %w, %idx, %keep = moe.expert_choice %logits capacity_factor = 2.000000e+00
        : tensor<16x4xf32> -> tensor<16x4xf32>, tensor<16x4xi32>, tensor<16x4xi1>
    ```
  }];
  let arguments = (ins Moe_F32Tensor:$logits, F64Attr:$capacity_factor);
  let results = (outs Moe_F32Tensor:$weights, Moe_I32Tensor:$indices,
                      Moe_MaskTensor:$keep);
  let assemblyFormat = [{
    $logits `capacity_factor` `=` $capacity_factor attr-dict `:` type($logits)
    `->` type($weights) `,` type($indices) `,` type($keep)
  }];
  let extraClassDeclaration = [{
    /// Tokens per expert: round(capacityFactor * numTokens / numExperts),
    /// half to even, clamped to [1, numTokens].
    static int64_t computeCapacity(int64_t numTokens, int64_t numExperts,
                                   double capacityFactor);
  }];
}

//===----------------------------------------------------------------------===//
// Auxiliary losses
//===----------------------------------------------------------------------===//

def Moe_AuxLossOp : Moe_Op<"aux_loss", [Pure, Differentiable]> {
  let summary = "load-balancing loss (GShard / Switch), per batch or per sequence";
  let description = [{
    With `p = softmax(logits)` over all `E` experts in fp32 and `c_e` the number
    of pairs in `indices` (the top-k choice before any capacity drop) that
    name expert `e`:

      `aux = coeff * E / (k * T^2) * sum_e (sum_t p[t, e]) * c_e`

    With `seq_length = S` it is the sequence-level loss: the same formula over
    the `S` tokens of each sequence (`T = S`), averaged over the `B = T / S`
    sequences; sequence `b` holds the tokens `t` with `t mod B = b`.
    `coeff >= 0`; a zero coefficient folds to a constant.

    ```mlir
    %aux = moe.aux_loss %logits, %idx coeff = 1.000000e-02 : tensor<16x8xf32>, tensor<16x2xi32>
    ```
  }];
  let arguments = (ins Moe_F32Tensor:$logits, Moe_I32Tensor:$indices,
                       F64Attr:$coeff, OptionalAttr<I64Attr>:$seq_length);
  let results = (outs Moe_F32Scalar:$loss);
  let assemblyFormat = [{
    $logits `,` $indices `coeff` `=` $coeff attr-dict `:` type($logits) `,` type($indices)
  }];
  let hasFolder = 1;
}

def Moe_ZLossOp : Moe_Op<"z_loss", [Pure, Differentiable]> {
  let summary = "router z-loss (ST-MoE)";
  let description = [{
    `z = coeff * mean_t (logsumexp_e logits[t, e])^2`, on the router logits
    before routing. `coeff >= 0`; a zero coefficient folds to a constant.

    ```mlir
    %z = moe.z_loss %logits coeff = 1.000000e-03 : tensor<16x8xf32>
    ```
  }];
  let arguments = (ins Moe_F32Tensor:$logits, F64Attr:$coeff);
  let results = (outs Moe_F32Scalar:$loss);
  let assemblyFormat = "$logits `coeff` `=` $coeff attr-dict `:` type($logits)";
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// Capacity and dispatch
//===----------------------------------------------------------------------===//

def Moe_CapacityOp : Moe_Op<"capacity", [Pure]> {
  let summary = "expert capacity: which routed pairs are kept";
  let description = [{
    `C = ceil((T * k / E) * capacity_factor)`, computed in double precision
    over the local tokens (`T * k / E = 50`, factor 1.1 gives 56). Every expert
    keeps at most `C` of the pairs routed to it:
    - `policy = probs`: the `C` pairs with the largest combine weight (lower
      token index on ties);
    - `policy = position`: the first `C` pairs in token order.

    `keep[t, j]` tells whether pair `(t, j)` survives; dropped pairs are not
    renormalised. `counts[e]` is the number of rows expert `e` receives: the
    kept pairs, or `C` for every expert with `pad_to_capacity`, whose padding
    rows are zero and carry weight 0. `capacity_factor > 0`.

    ```mlir
    %keep, %counts = moe.capacity %w, %idx capacity_factor = 1.250000e+00 policy = probs
        : tensor<16x2xf32>, tensor<16x2xi32> -> tensor<16x2xi1>, tensor<8xi32>
    ```
  }];
  let arguments = (ins Moe_F32Tensor:$weights, Moe_I32Tensor:$indices,
                       F64Attr:$capacity_factor, Moe_DropPolicy:$policy,
                       UnitAttr:$pad_to_capacity);
  let results = (outs Moe_MaskTensor:$keep, Moe_I32Tensor:$counts);
  let assemblyFormat = [{
    $weights `,` $indices `capacity_factor` `=` $capacity_factor `policy` `=` $policy
    attr-dict `:` type($weights) `,` type($indices) `->` type($keep) `,` type($counts)
  }];
  let extraClassDeclaration = [{
    /// `ceil((numTokens * topK / numExperts) * capacityFactor)` in double.
    static int64_t computeCapacity(int64_t numTokens, int64_t topK,
                                   int64_t numExperts, double capacityFactor);
  }];
}

def Moe_PermuteOp : Moe_Op<"permute", [Pure, Differentiable, AllTypesMatch<["indices", "row_map"]>]> {
  let summary = "tokens to expert-contiguous rows";
  let description = [{
    Copies `input[t]` to one row for every kept pair `(t, j)`, grouping the rows
    by expert `indices[t, j]` in ascending expert order and, within an expert,
    in token order. `row_map[t, j]` is the row of pair `(t, j)`, or -1 when
    `mask` drops it. `group_sizes[e]` counts expert `e`'s rows.

    Without `capacity` the rows are packed and the buffer holds `T * k` rows,
    the dropless bound; rows past `sum(group_sizes)` are zero. With
    `capacity = C` (pad-to-capacity; `mask` required) expert `e` owns rows
    `[e * C, (e + 1) * C)`, `group_sizes[e] = C`, and the buffer holds `E * C`
    rows.

    ```mlir
    %rows, %map, %sizes = moe.permute %x, %idx
        : tensor<16x64xf32>, tensor<16x2xi32> -> tensor<32x64xf32>, tensor<8xi32>
    ```
  }];
  let arguments = (ins Moe_FloatTensor:$input, Moe_I32Tensor:$indices,
                       Optional<Moe_MaskTensor>:$mask,
                       OptionalAttr<I64Attr>:$capacity);
  let results = (outs Moe_FloatTensor:$rows, Moe_I32Tensor:$row_map,
                      Moe_I32Tensor:$group_sizes);
  let assemblyFormat = [{
    $input `,` $indices (`,` $mask^)? (`capacity` `=` $capacity^)? attr-dict `:`
    type($input) `,` type($indices) (`,` type($mask)^)? `->` type($rows) `,`
    type($group_sizes)
  }];
}

def Moe_UnpermuteOp : Moe_Op<"unpermute", [Pure, Differentiable]> {
  let summary = "expert rows back to tokens, weighted";
  let description = [{
    `output[t] = sum_j weights[t, j] * rows[row_map[t, j]]`, skipping pairs
    whose `row_map` entry is -1 (dropped). Accumulates in fp32.

    ```mlir
    %y = moe.unpermute %rows, %map, %w
        : tensor<32x64xf32>, tensor<16x2xi32>, tensor<16x2xf32> -> tensor<16x64xf32>
    ```
  }];
  let arguments = (ins Moe_FloatTensor:$rows, Moe_I32Tensor:$row_map,
                       Moe_F32Tensor:$weights);
  let results = (outs Moe_FloatTensor:$output);
  let assemblyFormat = [{
    $rows `,` $row_map `,` $weights attr-dict `:` type($rows) `,` type($row_map)
    `,` type($weights) `->` type($output)
  }];
}

//===----------------------------------------------------------------------===//
// Expert computation
//===----------------------------------------------------------------------===//

def Moe_GroupedMatmulOp : Moe_Op<"grouped_matmul", [Pure, Differentiable]> {
  let summary = "one GEMM per expert over its contiguous rows";
  let description = [{
    Rows are grouped by expert as `moe.permute` leaves them: expert `e` owns
    `group_sizes[e]` consecutive rows starting at the sum of the sizes before
    it. For a row `r` of expert `e`, `output[r, n] = sum_k rows[r, k] *
    weight[e, n, k]` (PyTorch `[out, in]` per expert). Rows past the last group
    are zero. Accumulates in fp32.

    ```mlir
    %h = moe.grouped_matmul %rows, %w1, %sizes
        : tensor<32x64xf32>, tensor<8x128x64xf32>, tensor<8xi32> -> tensor<32x128xf32>
    ```
  }];
  let arguments = (ins Moe_FloatTensor:$rows, Moe_FloatTensor:$weight,
                       Moe_I32Tensor:$group_sizes);
  let results = (outs Moe_FloatTensor:$output);
  let assemblyFormat = [{
    $rows `,` $weight `,` $group_sizes attr-dict `:` type($rows) `,` type($weight)
    `,` type($group_sizes) `->` type($output)
  }];
}

def Moe_GatherGroupedMatmulOp : Moe_Op<"gather_grouped_matmul",
    [Pure, AllTypesMatch<["indices", "row_map"]>]> {
  let summary = "fused moe.permute + moe.grouped_matmul";
  let description = [{
    Equal to `moe.permute` of `input` by `indices` (with the same `mask` and
    `capacity`) followed by `moe.grouped_matmul` with `weight`, without
    materialising the permuted rows: each GEMM gathers its input rows straight
    from the tokens. `row_map` and `group_sizes` are those of the permute.

    ```mlir
    %h, %map, %sizes = moe.gather_grouped_matmul %x, %idx, %w1
        : tensor<16x64xf32>, tensor<16x2xi32>, tensor<8x128x64xf32>
        -> tensor<32x128xf32>, tensor<8xi32>
    ```
  }];
  let arguments = (ins Moe_FloatTensor:$input, Moe_I32Tensor:$indices,
                       Moe_FloatTensor:$weight, Optional<Moe_MaskTensor>:$mask,
                       OptionalAttr<I64Attr>:$capacity);
  let results = (outs Moe_FloatTensor:$output, Moe_I32Tensor:$row_map,
                      Moe_I32Tensor:$group_sizes);
  let assemblyFormat = [{
    $input `,` $indices `,` $weight (`,` $mask^)? (`capacity` `=` $capacity^)?
    attr-dict `:` type($input) `,` type($indices) `,` type($weight)
    (`,` type($mask)^)? `->` type($output) `,` type($group_sizes)
  }];
}

def Moe_GroupedMatmulScatterOp : Moe_Op<"grouped_matmul_scatter", [Pure]> {
  let summary = "fused moe.grouped_matmul + moe.unpermute";
  let description = [{
    Equal to `moe.grouped_matmul` of `rows` with `weight` and `group_sizes`
    followed by `moe.unpermute` with `row_map` and `weights`: each GEMM scales
    its output rows by their combine weight and accumulates them into the
    tokens they came from.

    ```mlir
    %y = moe.grouped_matmul_scatter %h, %w2, %sizes, %map, %w
        : tensor<32x128xf32>, tensor<8x64x128xf32>, tensor<8xi32>, tensor<16x2xi32>,
          tensor<16x2xf32> -> tensor<16x64xf32>
    ```
  }];
  let arguments = (ins Moe_FloatTensor:$rows, Moe_FloatTensor:$weight,
                       Moe_I32Tensor:$group_sizes, Moe_I32Tensor:$row_map,
                       Moe_F32Tensor:$weights);
  let results = (outs Moe_FloatTensor:$output);
  let assemblyFormat = [{
    $rows `,` $weight `,` $group_sizes `,` $row_map `,` $weights attr-dict `:`
    type($rows) `,` type($weight) `,` type($group_sizes) `,` type($row_map) `,`
    type($weights) `->` type($output)
  }];
}

//===----------------------------------------------------------------------===//
// Collectives
//===----------------------------------------------------------------------===//

class Moe_CollectiveOp<string mnemonic, list<Trait> traits = []>
    : Moe_Op<mnemonic, traits> {
  // `size` is the number of ranks in `group`; a group of one is the identity.
  // Collectives are Pure as in the upstream mesh dialect: every rank runs the
  // same program, so erasing or merging one does so on every rank.
  let hasFolder = 1;
}

def Moe_AllToAllVOp : Moe_CollectiveOp<"all_to_all_v", [Pure, Differentiable]> {
  let summary = "ragged all-to-all over a process group";
  let description = [{
    Rank `i` sends its rows `[sum(send_sizes[:j]), sum(send_sizes[:j + 1]))` to
    rank `j` of `group` and receives `recv_sizes[j]` rows from rank `j`, placed
    in rank order; rows past the received total are zero. `size` is the number
    of ranks in the group and the length of both split tensors; the row counts
    of input and output are static upper bounds. A group of one folds away when
    the two bounds agree.

    ```mlir
    %r = moe.all_to_all_v %rows, %send, %recv group = ep size = 4
        : tensor<32x64xf32>, tensor<4xi32>, tensor<4xi32> -> tensor<128x64xf32>
    ```
  }];
  let arguments = (ins Moe_CommTensor:$input, Moe_I32Tensor:$send_sizes,
                       Moe_I32Tensor:$recv_sizes, Moe_CommGroup:$group,
                       I64Attr:$size);
  let results = (outs Moe_CommTensor:$output);
  let assemblyFormat = [{
    $input `,` $send_sizes `,` $recv_sizes `group` `=` $group `size` `=` $size
    attr-dict `:` type($input) `,` type($send_sizes) `,` type($recv_sizes) `->`
    type($output)
  }];
}

def Moe_AllGatherOp : Moe_CollectiveOp<"all_gather", [Pure, Differentiable]> {
  let summary = "concatenate every rank's tensor along dimension 0";
  let description = [{
    The output is the ranks' inputs stacked in rank order along dimension 0, so
    its first dimension is `size` times the input's. A group of one folds away.

    ```mlir
    %g = moe.all_gather %x group = ep size = 4 : tensor<16x64xf32> -> tensor<64x64xf32>
    ```
  }];
  let arguments = (ins Moe_GatherTensor:$input, Moe_CommGroup:$group, I64Attr:$size);
  let results = (outs Moe_GatherTensor:$output);
  let assemblyFormat = [{
    $input `group` `=` $group `size` `=` $size attr-dict `:` type($input) `->` type($output)
  }];
}

def Moe_ReduceScatterOp : Moe_CollectiveOp<"reduce_scatter", [Pure, Differentiable]> {
  let summary = "sum over ranks, then keep this rank's slice of dimension 0";
  let description = [{
    Sums the ranks' inputs elementwise and returns slice `rank` of `size` equal
    slices along dimension 0. A group of one folds away.

    ```mlir
    %s = moe.reduce_scatter %g group = dp size = 4 : tensor<64x64xf32> -> tensor<16x64xf32>
    ```
  }];
  let arguments = (ins Moe_CommTensor:$input, Moe_CommGroup:$group, I64Attr:$size);
  let results = (outs Moe_CommTensor:$output);
  let assemblyFormat = [{
    $input `group` `=` $group `size` `=` $size attr-dict `:` type($input) `->` type($output)
  }];
}

def Moe_AllReduceOp : Moe_CollectiveOp<"all_reduce", [Pure, Differentiable, SameOperandsAndResultType]> {
  let summary = "elementwise reduction over every rank of a group";
  let description = [{
    Every rank receives the elementwise `sum`, `mean` or `max` of the ranks'
    inputs. Dense gradients reduce over `world`, expert gradients over `edp`
    (the ranks holding the same experts). A group of one folds away.

    ```mlir
    %g = moe.all_reduce %grad group = edp size = 2 reduction = mean : tensor<8x64x128xf32>
    ```
  }];
  let arguments = (ins Moe_CommTensor:$input, Moe_CommGroup:$group, I64Attr:$size,
                       Moe_Reduction:$reduction);
  let results = (outs Moe_CommTensor:$output);
  let assemblyFormat = [{
    $input `group` `=` $group `size` `=` $size `reduction` `=` $reduction attr-dict
    `:` type($input)
  }];
}

def Moe_DispatchCountsOp : Moe_Op<"dispatch_counts", [Pure]> {
  let summary = "the split sizes of an expert-parallel all-to-all";
  let description = [{
    `counts` holds every member's `group_sizes` in member order, as
    `moe.all_gather` over the `ep` group stacks them: `counts[i * E + e]` rows
    of member `i` go to expert `e`. Member `p` of the group holds the `L =
    E / size` experts `[p * L, (p + 1) * L)`. For this member `p`, whose
    position the launch gives at run time:
    `send_sizes[j] = sum over j's experts e of counts[p * E + e]`,
    `recv_sizes[i] = sum over p's experts e of counts[i * E + e]`,
    `chunk_sizes[i * L + l] = counts[i * E + p * L + l]` (member `i`'s rows for
    local expert `l`) and `local_sizes[l] = sum_i chunk_sizes[i * L + l]`.

    ```mlir
    %send, %recv, %chunks, %local = moe.dispatch_counts %all group = ep size = 2
        : tensor<16xi32> -> tensor<2xi32>, tensor<2xi32>, tensor<8xi32>, tensor<4xi32>
    ```
  }];
  let arguments = (ins Moe_I32Tensor:$counts, Moe_CommGroup:$group,
                       I64Attr:$size);
  let results = (outs Moe_I32Tensor:$send_sizes, Moe_I32Tensor:$recv_sizes,
                      Moe_I32Tensor:$chunk_sizes, Moe_I32Tensor:$local_sizes);
  let assemblyFormat = [{
    $counts `group` `=` $group `size` `=` $size attr-dict `:` type($counts) `->`
    type($send_sizes) `,` type($recv_sizes) `,` type($chunk_sizes) `,`
    type($local_sizes)
  }];
}

def Moe_LocalExpertsOp : Moe_Op<"local_experts", [Pure, AllShapesMatch<["indices", "local_indices", "keep"]>]> {
  let summary = "the routing entries of this member's experts, renumbered";
  let description = [{
    For the allgather and replicated dispatchers: member `p` of the `size`
    members of `group` holds the `L = experts / size` experts `[p * L, (p + 1)
    * L)`. An entry `(t, j)` is kept when `indices[t, j]` is one of them and
    `mask[t, j]` (when given) keeps it; `local_indices[t, j]` is then
    `indices[t, j] - p * L`, and 0 for a dropped entry. The member's position
    comes from the launch at run time.

    ```mlir
    %local, %keep = moe.local_experts %idx group = ep size = 2 experts = 8
        : tensor<32x2xi32> -> tensor<32x2xi32>, tensor<32x2xi1>
    ```
  }];
  let arguments = (ins Moe_I32Tensor:$indices, Optional<Moe_MaskTensor>:$mask,
                       Moe_CommGroup:$group, I64Attr:$size, I64Attr:$experts);
  let results = (outs Moe_I32Tensor:$local_indices, Moe_MaskTensor:$keep);
  let assemblyFormat = [{
    $indices (`,` $mask^)? `group` `=` $group `size` `=` $size `experts` `=`
    $experts attr-dict `:` type($indices) (`,` type($mask)^)? `->`
    type($local_indices) `,` type($keep)
  }];
}

def Moe_FlattenOp : Moe_Op<"flatten", [Pure]> {
  let summary = "a tensor as one dimension, zero-padded to a length";
  let description = [{
    The input's elements in row-major order, then zeros up to the output's
    length (at least the input's element count). With `moe.local_shard` and
    `moe.unflatten` it lays a parameter out as the distributed optimizer
    shards it: every rank of a group owns one equal slice.

    ```mlir
    %f = moe.flatten %w : tensor<10x3xf32> -> tensor<32xf32>
    ```
  }];
  let arguments = (ins Moe_F32Tensor:$input);
  let results = (outs Moe_F32Tensor:$output);
  let assemblyFormat = [{
    $input attr-dict `:` type($input) `->` type($output)
  }];
}

def Moe_UnflattenOp : Moe_Op<"unflatten", [Pure]> {
  let summary = "the leading elements of a flat tensor in a shape";
  let description = [{
    The inverse of `moe.flatten`: the first elements of the input, as many as
    the output holds, in row-major order; the padding is dropped.

    ```mlir
    %w = moe.unflatten %f : tensor<32xf32> -> tensor<10x3xf32>
    ```
  }];
  let arguments = (ins Moe_F32Tensor:$input);
  let results = (outs Moe_F32Tensor:$output);
  let assemblyFormat = [{
    $input attr-dict `:` type($input) `->` type($output)
  }];
}

def Moe_LocalShardOp : Moe_Op<"local_shard", [Pure]> {
  let summary = "this member's slice of a flat tensor";
  let description = [{
    Member `p` of the `size` members of `group` keeps elements `[p * n, (p +
    1) * n)` of the input, `n` the output's length: the slice it owns under
    the distributed optimizer, whose update `moe.all_gather` then shares. The
    member's position comes from the launch at run time.

    ```mlir
    %s = moe.local_shard %f group = dp size = 4 : tensor<32xf32> -> tensor<8xf32>
    ```
  }];
  let arguments = (ins Moe_F32Tensor:$input, Moe_CommGroup:$group,
                       I64Attr:$size);
  let results = (outs Moe_F32Tensor:$output);
  let assemblyFormat = [{
    $input `group` `=` $group `size` `=` $size attr-dict `:` type($input) `->`
    type($output)
  }];
}

def Moe_SortChunksOp : Moe_Op<"sort_chunks", [Pure, Differentiable, AllTypesMatch<["input", "output"]>]> {
  let summary = "regroup received rows from (member, expert) to (expert, member) order";
  let description = [{
    The input holds consecutive chunks of rows, `chunk_sizes[i * L + l]` rows
    for each member `i < sources` and local expert `l < L` in `(i, l)` order, as
    `moe.all_to_all_v` delivers them. The output holds the same chunks in
    `(l, i)` order, so that each local expert's rows are contiguous for
    `moe.grouped_matmul`. With `inverse` the input is in `(l, i)` order and the
    output in `(i, l)` order. Rows past the chunks' total are zero. Each is the
    other's gradient.

    ```mlir
    %sorted = moe.sort_chunks %rows, %chunks sources = 2
        : tensor<64x32xf32>, tensor<8xi32>
    ```
  }];
  let arguments = (ins Moe_FloatTensor:$input, Moe_I32Tensor:$chunk_sizes,
                       I64Attr:$sources, UnitAttr:$inverse);
  let results = (outs Moe_FloatTensor:$output);
  let assemblyFormat = [{
    $input `,` $chunk_sizes `sources` `=` $sources (`inverse` $inverse^)?
    attr-dict `:` type($input) `,` type($chunk_sizes)
  }];
}

include "MoeGradOps.td"

#endif // MOE_OPS_TD
