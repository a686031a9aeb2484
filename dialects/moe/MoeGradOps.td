//===- MoeGradOps.td - backward ops of the moe dialect --------*- tablegen -*-===//
//
// The vector-Jacobian products moe-autodiff builds for routing, the losses,
// dispatch and the grouped GEMMs. Operand order: the gradient of the forward
// op's result first, then what the forward op saw. Routing decisions
// (indices, keep masks, row maps, group sizes) carry no gradient.
//
//===----------------------------------------------------------------------===//

#ifndef MOE_GRAD_OPS_TD
#define MOE_GRAD_OPS_TD

class Moe_GradOp<string mnemonic, list<Trait> traits = []>
    : Moe_Op<mnemonic, !listconcat([Pure], traits)> {
  let hasVerifier = 0;
}

def Moe_TopKGradOp : Moe_GradOp<"topk_grad", [AllTypesMatch<["logits", "grad_logits"]>,
                                               AllShapesMatch<["grad_weights", "indices"]>]> {
  let summary = "gradient of moe.topk's weights with respect to the logits";
  let description = [{
    `pre`: with `p = softmax(logits[t])` and `g_e` the weight gradient summed
    over the slots that chose `e`, `grad_logits[t, e] = p_e (g_e - sum_j
    grad_weights[t, j] weights[t, j])`. `post`: the same over the softmax of
    the `k` chosen logits; unchosen experts get zero.
  }];
  let arguments = (ins Moe_F32Tensor:$grad_weights, Moe_F32Tensor:$logits,
                       Moe_I32Tensor:$indices, Moe_SoftmaxPlacement:$softmax);
  let results = (outs Moe_F32Tensor:$grad_logits);
  let assemblyFormat = [{
    $grad_weights `,` $logits `,` $indices `softmax` `=` $softmax attr-dict `:`
    type($grad_weights) `,` type($logits) `,` type($indices)
  }];
}

def Moe_SinkhornGradOp : Moe_GradOp<"sinkhorn_grad", [AllTypesMatch<["logits", "grad_logits"]>,
                                                       AllShapesMatch<["grad_weights", "indices"]>]> {
  let summary = "gradient of moe.sinkhorn's weights with respect to the logits";
  let description = [{
    The balanced assignment only selects; the weights are the sigmoid of the
    chosen logit for `k = 1` (`grad = dw * w (1 - w)`) and the softmax over all
    experts at the chosen ones otherwise (as `moe.topk_grad` with `pre`).
  }];
  let arguments = (ins Moe_F32Tensor:$grad_weights, Moe_F32Tensor:$logits,
                       Moe_I32Tensor:$indices);
  let results = (outs Moe_F32Tensor:$grad_logits);
  let assemblyFormat = [{
    $grad_weights `,` $logits `,` $indices attr-dict `:` type($grad_weights) `,`
    type($logits) `,` type($indices)
  }];
}

def Moe_ExpertChoiceGradOp : Moe_GradOp<"expert_choice_grad", [
    AllTypesMatch<["grad_weights", "logits", "grad_logits"]>,
    AllShapesMatch<["logits", "keep"]>]> {
  let summary = "gradient of moe.expert_choice's weights with respect to the logits";
  let description = [{
    The weights are `softmax(logits[t])` where `keep`, so with `g = dw * keep`:
    `grad_logits[t, e] = p_e (g_e - sum_e' g_e' p_e')`.
  }];
  let arguments = (ins Moe_F32Tensor:$grad_weights, Moe_F32Tensor:$logits,
                       Moe_MaskTensor:$keep);
  let results = (outs Moe_F32Tensor:$grad_logits);
  let assemblyFormat = [{
    $grad_weights `,` $logits `,` $keep attr-dict `:` type($logits) `,` type($keep)
  }];
}

def Moe_AuxLossGradOp : Moe_GradOp<"aux_loss_grad", [AllTypesMatch<["logits", "grad_logits"]>]> {
  let summary = "gradient of moe.aux_loss with respect to the router logits";
  let description = [{
    Only the softmax probabilities carry gradient (the counts are constants):
    `dL/dp[t, e] = grad_loss * coeff * E / (k T^2) * count_e` (per sequence and
    averaged with `seq_length`), then through the softmax of each row.
  }];
  let arguments = (ins Moe_F32Scalar:$grad_loss, Moe_F32Tensor:$logits,
                       Moe_I32Tensor:$indices, F64Attr:$coeff,
                       OptionalAttr<I64Attr>:$seq_length);
  let results = (outs Moe_F32Tensor:$grad_logits);
  let assemblyFormat = [{
    $grad_loss `,` $logits `,` $indices `coeff` `=` $coeff (`seq_length` `=` $seq_length^)?
    attr-dict `:` type($logits) `,` type($indices)
  }];
}

def Moe_ZLossGradOp : Moe_GradOp<"z_loss_grad", [AllTypesMatch<["logits", "grad_logits"]>]> {
  let summary = "gradient of moe.z_loss with respect to the router logits";
  let description = [{
    `grad_logits[t, e] = grad_loss * coeff * 2 lse_t softmax(logits[t])_e / T`.
  }];
  let arguments = (ins Moe_F32Scalar:$grad_loss, Moe_F32Tensor:$logits, F64Attr:$coeff);
  let results = (outs Moe_F32Tensor:$grad_logits);
  let assemblyFormat = [{
    $grad_loss `,` $logits `coeff` `=` $coeff attr-dict `:` type($logits)
  }];
}

def Moe_PermuteGradOp : Moe_GradOp<"permute_grad"> {
  let summary = "gradient of moe.permute with respect to the tokens";
  let description = [{
    `grad_input[t] = sum_j grad_rows[row_map[t, j]]` over the kept pairs
    (`row_map >= 0`).
  }];
  let arguments = (ins Moe_FloatTensor:$grad_rows, Moe_I32Tensor:$row_map);
  let results = (outs Moe_FloatTensor:$grad_input);
  let assemblyFormat = [{
    $grad_rows `,` $row_map attr-dict `:` type($grad_rows) `,` type($row_map) `->`
    type($grad_input)
  }];
  let hasVerifier = 1;
}

def Moe_UnpermuteGradOp : Moe_GradOp<"unpermute_grad", [
    AllTypesMatch<["rows", "grad_rows"]>, AllTypesMatch<["weights", "grad_weights"]>,
    AllShapesMatch<["row_map", "weights"]>]> {
  let summary = "gradients of moe.unpermute";
  let description = [{
    For a kept pair `(t, j)` at row `r = row_map[t, j]`:
    `grad_rows[r] = weights[t, j] * grad_output[t]` and
    `grad_weights[t, j] = <grad_output[t], rows[r]>`; rows no pair references
    and dropped pairs get zero.
  }];
  let arguments = (ins Moe_FloatTensor:$grad_output, Moe_FloatTensor:$rows,
                       Moe_I32Tensor:$row_map, Moe_F32Tensor:$weights);
  let results = (outs Moe_FloatTensor:$grad_rows, Moe_F32Tensor:$grad_weights);
  let assemblyFormat = [{
    $grad_output `,` $rows `,` $row_map `,` $weights attr-dict `:` type($grad_output)
    `,` type($rows) `,` type($row_map) `,` type($weights)
  }];
}

def Moe_GroupedMatmulGradInputOp : Moe_GradOp<"grouped_matmul_grad_input"> {
  let summary = "gradient of moe.grouped_matmul with respect to the rows";
  let description = [{
    Per expert group, `grad_rows = grad_output * weight[e]`; rows past the
    groups are zero.
  }];
  let arguments = (ins Moe_FloatTensor:$grad_output, Moe_FloatTensor:$weight,
                       Moe_I32Tensor:$group_sizes);
  let results = (outs Moe_FloatTensor:$grad_rows);
  let assemblyFormat = [{
    $grad_output `,` $weight `,` $group_sizes attr-dict `:` type($grad_output) `,`
    type($weight) `,` type($group_sizes) `->` type($grad_rows)
  }];
  let hasVerifier = 1;
}

def Moe_GroupedMatmulGradWeightOp : Moe_GradOp<"grouped_matmul_grad_weight", [
    OptionalTypesMatchWith<"accumulate has the result's type", "grad_weight",
                           "accumulate", "$_self">]> {
  let summary = "gradient of moe.grouped_matmul with respect to the expert weights";
  let description = [{
    `grad_weight[e] = grad_output_e^T * rows_e` over expert `e`'s rows; zero
    for an expert with no rows. With `accumulate` the result is
    `accumulate + grad_weight`: moe-optimizer adds the gradient straight into
    its accumulator, and no `[E, out, in]` temporary exists.
  }];
  let arguments = (ins Moe_FloatTensor:$grad_output, Moe_FloatTensor:$rows,
                       Moe_I32Tensor:$group_sizes,
                       Optional<Moe_FloatTensor>:$accumulate);
  let results = (outs Moe_FloatTensor:$grad_weight);
  let assemblyFormat = [{
    $grad_output `,` $rows `,` $group_sizes (`accumulate` $accumulate^)?
    attr-dict `:` type($grad_output) `,` type($rows) `,` type($group_sizes)
    `->` type($grad_weight)
  }];
  let hasVerifier = 1;
}

// Not Pure: it must stay where moe-autodiff put it.
def Moe_BeginBackwardOp : Moe_Op<"begin_backward"> {
  let summary = "where the backward pass of @forward_backward begins";
  let description = [{
    moe-autodiff places it between the forward ops of `@forward_backward`
    and the backward ops it builds after them: the ops before it are the
    forward pass, the ops after it (with what later passes put there: the
    recomputed forward ops of moe-recompute, the gradient accumulation of
    moe-optimizer) the backward pass. It computes nothing, and the plan has
    no op for it. At most one per function, directly in its body.

    ```mlir
    moe.begin_backward
    ```
  }];
  let assemblyFormat = "attr-dict";
}

#endif // MOE_GRAD_OPS_TD
