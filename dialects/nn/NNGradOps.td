//===- NNGradOps.td - backward and optimizer ops of nn --------*- tablegen -*-===//
//
// The ops moe-autodiff and moe-optimizer build: the vector-Jacobian products
// of the forward ops (operand order: the output gradient first, then what the
// forward op saw) and the pieces of the optimizer step.
//
//===----------------------------------------------------------------------===//

#ifndef NN_GRAD_OPS_TD
#define NN_GRAD_OPS_TD

class NN_GradOp<string mnemonic, list<Trait> traits = []>
    : NN_Op<mnemonic, !listconcat([Pure], traits)> {
  let hasVerifier = 0;
}

def NN_EmbeddingGradOp : NN_GradOp<"embedding_grad", [
    OptionalTypesMatchWith<"accumulate has the result's type", "grad_table",
                           "accumulate", "$_self">]> {
  let summary = "gradient of nn.embedding with respect to the table";
  let description = [{
    `grad_table[v, :] = sum_{t : ids[t] = v} grad_output[t, :]`; rows no id
    names are zero. With `accumulate` the result is `accumulate + grad_table`:
    moe-optimizer adds the gradient straight into its accumulator, and no
    table-sized temporary exists.
  }];
  let arguments = (ins NN_I32Tensor:$ids, NN_FloatTensor:$grad_output,
                       Optional<NN_FloatTensor>:$accumulate);
  let results = (outs NN_FloatTensor:$grad_table);
  let assemblyFormat = [{
    $ids `,` $grad_output (`accumulate` $accumulate^)? attr-dict `:`
    type($ids) `,` type($grad_output) `->` type($grad_table)
  }];
  let hasVerifier = 1;
}

def NN_LinearGradInputOp : NN_GradOp<"linear_grad_input"> {
  let summary = "gradient of nn.linear with respect to its input";
  let description = "`grad_input = grad_output * weight` (`[T, out] x [out, in]`).";
  let arguments = (ins NN_FloatTensor:$grad_output, NN_FloatTensor:$weight);
  let results = (outs NN_FloatTensor:$grad_input);
  let assemblyFormat = [{
    $grad_output `,` $weight attr-dict `:` type($grad_output) `,` type($weight)
    `->` type($grad_input)
  }];
  let hasVerifier = 1;
}

def NN_LinearGradWeightOp : NN_GradOp<"linear_grad_weight", [
    OptionalTypesMatchWith<"accumulate has the result's type", "grad_weight",
                           "accumulate", "$_self">]> {
  let summary = "gradient of nn.linear with respect to its weight";
  let description = [{
    `grad_weight = grad_output^T * input` (`[out, in]`); with `accumulate`,
    `accumulate + grad_output^T * input` (moe-optimizer's fused gradient
    accumulation).
  }];
  let arguments = (ins NN_FloatTensor:$grad_output, NN_FloatTensor:$input,
                       Optional<NN_FloatTensor>:$accumulate);
  let results = (outs NN_FloatTensor:$grad_weight);
  let assemblyFormat = [{
    $grad_output `,` $input (`accumulate` $accumulate^)? attr-dict `:`
    type($grad_output) `,` type($input) `->` type($grad_weight)
  }];
  let hasVerifier = 1;
}

def NN_BiasGradOp : NN_GradOp<"bias_grad"> {
  let summary = "gradient of a bias: the column sums of the output gradient";
  let description = "`grad_bias[o] = sum_t grad_output[t, o]`.";
  let arguments = (ins NN_FloatTensor:$grad_output);
  let results = (outs NN_FloatTensor:$grad_bias);
  let assemblyFormat = [{
    $grad_output attr-dict `:` type($grad_output) `->` type($grad_bias)
  }];
  let hasVerifier = 1;
}

def NN_RMSNormGradOp : NN_GradOp<"rmsnorm_grad", [
    AllTypesMatch<["grad_output", "input", "grad_input"]>,
    AllTypesMatch<["weight", "grad_weight"]>]> {
  let summary = "gradients of nn.rmsnorm";
  let description = [{
    With `r = 1 / sqrt(mean_h x^2 + eps)` and `n = x r`:
    `grad_weight = sum_t dy * n`, and with `u = dy * weight`,
    `grad_input = r (u - n mean_h(u n))`.
  }];
  let arguments = (ins NN_FloatTensor:$grad_output, NN_FloatTensor:$input,
                       NN_FloatTensor:$weight, F64Attr:$eps);
  let results = (outs NN_FloatTensor:$grad_input, NN_FloatTensor:$grad_weight);
  let assemblyFormat = [{
    $grad_output `,` $input `,` $weight `eps` `=` $eps attr-dict `:`
    type($input) `,` type($weight)
  }];
}

def NN_LayerNormGradOp : NN_GradOp<"layernorm_grad", [
    AllTypesMatch<["grad_output", "input", "grad_input"]>,
    AllTypesMatch<["weight", "grad_weight", "grad_bias"]>]> {
  let summary = "gradients of nn.layernorm";
  let description = [{
    With `n` the normalised input and `u = dy * weight`:
    `grad_input = r (u - mean_h u - n mean_h(u n))`,
    `grad_weight = sum_t dy * n`, `grad_bias = sum_t dy`.
  }];
  let arguments = (ins NN_FloatTensor:$grad_output, NN_FloatTensor:$input,
                       NN_FloatTensor:$weight, F64Attr:$eps);
  let results = (outs NN_FloatTensor:$grad_input, NN_FloatTensor:$grad_weight,
                      NN_FloatTensor:$grad_bias);
  let assemblyFormat = [{
    $grad_output `,` $input `,` $weight `eps` `=` $eps attr-dict `:`
    type($input) `,` type($weight)
  }];
}

def NN_RoPEGradOp : NN_GradOp<"rope_grad", [AllTypesMatch<["grad_output", "grad_input"]>]> {
  let summary = "gradient of nn.rope: the inverse rotation";
  let description = [{
    The rotation is orthogonal, so the gradient rotates `grad_output` by minus
    the angle of nn.rope with the same attributes.
  }];
  let arguments = (ins NN_FloatTensor:$grad_output, I64Attr:$head_dim,
                       I64Attr:$seq_length, F64Attr:$theta);
  let results = (outs NN_FloatTensor:$grad_input);
  let assemblyFormat = [{
    $grad_output `head_dim` `=` $head_dim `seq_length` `=` $seq_length `theta` `=`
    $theta attr-dict `:` type($grad_output)
  }];
}

def NN_AttentionGradOp : NN_GradOp<"attention_grad", [
    AllTypesMatch<["grad_output", "query", "grad_query"]>,
    AllTypesMatch<["key", "value", "grad_key", "grad_value"]>]> {
  let summary = "gradients of nn.attention";
  let description = [{
    Recomputes each head's probabilities `P` and, with `dO` the output
    gradient: `dV = P^T dO`, `dP = dO V^T`, `dS = P * (dP - rowsum(dP * P))`,
    `dQ = dS K / sqrt(D)`, `dK = dS^T Q / sqrt(D)`; a key/value head sums the
    gradients of the query heads that share it.
  }];
  let arguments = (ins NN_FloatTensor:$grad_output, NN_FloatTensor:$query,
                       NN_FloatTensor:$key, NN_FloatTensor:$value,
                       I64Attr:$num_heads, I64Attr:$num_kv_heads, I64Attr:$seq_length);
  let results = (outs NN_FloatTensor:$grad_query, NN_FloatTensor:$grad_key,
                      NN_FloatTensor:$grad_value);
  let assemblyFormat = [{
    $grad_output `,` $query `,` $key `,` $value `num_heads` `=` $num_heads
    `num_kv_heads` `=` $num_kv_heads `seq_length` `=` $seq_length attr-dict `:`
    type($query) `,` type($key)
  }];
}

def NN_SwiGLUGradOp : NN_GradOp<"swiglu_grad", [
    AllTypesMatch<["grad_output", "gate", "up", "grad_gate", "grad_up"]>]> {
  let summary = "gradients of nn.swiglu";
  let description = [{
    With `s = sigmoid(gate)`: `grad_up = dy * gate * s`,
    `grad_gate = dy * up * s * (1 + gate (1 - s))`.
  }];
  let arguments = (ins NN_FloatTensor:$grad_output, NN_FloatTensor:$gate,
                       NN_FloatTensor:$up);
  let results = (outs NN_FloatTensor:$grad_gate, NN_FloatTensor:$grad_up);
  let assemblyFormat = "$grad_output `,` $gate `,` $up attr-dict `:` type($gate)";
}

def NN_GeLUGradOp : NN_GradOp<"gelu_grad", [
    AllTypesMatch<["grad_output", "input", "grad_input"]>]> {
  let summary = "gradient of nn.gelu";
  let description = "`grad_input = dy * gelu'(input)` for the same formula.";
  let arguments = (ins NN_FloatTensor:$grad_output, NN_FloatTensor:$input,
                       NN_GeluApproximation:$approximate);
  let results = (outs NN_FloatTensor:$grad_input);
  let assemblyFormat = [{
    $grad_output `,` $input `approximate` `=` $approximate attr-dict `:` type($input)
  }];
}

def NN_SigmoidGateGradOp : NN_GradOp<"sigmoid_gate_grad", [
    AllTypesMatch<["grad_output", "input", "grad_input"]>,
    AllTypesMatch<["gate", "grad_gate"]>]> {
  let summary = "gradients of nn.sigmoid_gate";
  let description = [{
    With `s = sigmoid(gate[t, 0])`: `grad_input = dy * s`,
    `grad_gate[t, 0] = s (1 - s) sum_h dy[t, h] input[t, h]`.
  }];
  let arguments = (ins NN_FloatTensor:$grad_output, NN_FloatTensor:$input,
                       NN_FloatTensor:$gate);
  let results = (outs NN_FloatTensor:$grad_input, NN_FloatTensor:$grad_gate);
  let assemblyFormat = [{
    $grad_output `,` $input `,` $gate attr-dict `:` type($input) `,` type($gate)
  }];
}

def NN_CrossEntropyGradOp : NN_GradOp<"cross_entropy_grad", [
    AllTypesMatch<["logits", "grad_logits"]>]> {
  let summary = "gradient of nn.cross_entropy with respect to the logits";
  let description = [{
    `grad_logits[t] = grad_loss * m_t (softmax(logits[t]) - onehot(labels[t]))
    / sum_t m_t`, zero for a fully masked batch.
  }];
  let arguments = (ins NN_F32Scalar:$grad_loss, NN_FloatTensor:$logits,
                       NN_I32Tensor:$labels, Optional<NN_F32Tensor>:$loss_mask);
  let results = (outs NN_FloatTensor:$grad_logits);
  let assemblyFormat = [{
    $grad_loss `,` $logits `,` $labels (`,` $loss_mask^)? attr-dict `:`
    type($logits) `,` type($labels) (`,` type($loss_mask)^)?
  }];
}

//===----------------------------------------------------------------------===//
// Optimizer step
//===----------------------------------------------------------------------===//

def NN_LRScheduleOp : NN_Op<"lr_schedule", [Pure]> {
  let summary = "the learning rate of an optimizer step";
  let description = [{
    Megatron's schedule, evaluated at `n = step - 1` steps already taken
    (`step >= 1` is the step the rate is for): linear warmup
    `lr * n / warmup_iters` while `n <= warmup_iters` (when
    `warmup_iters > 0`), then with `r = (n - warmup_iters) /
    (decay_iters - warmup_iters)` a decay from `lr` to `min_lr`:
    `constant` keeps `lr`, `linear` uses `1 - r`, `cosine`
    `(cos(pi r) + 1) / 2`; past `decay_iters` the rate is `min_lr`.

    The decay length is the `decay_iters` attribute, or, as Megatron's
    `lr_decay_iters` defaults to `train_iters`, the `train_iters` operand:
    the length of the training run, known when it starts. A decaying style
    needs exactly one of them. `0 <= min_lr <= lr`, `warmup_iters >= 0`,
    and `warmup_iters < decay_iters` (checked when the run starts for the
    operand).
    ```mlir
    %lr = nn.lr_schedule %step lr = 3.000000e-03 min_lr = 3.000000e-04
        warmup_iters = 20 decay_iters = 300 style = cosine
    %lr = nn.lr_schedule %step train_iters %n lr = 3.000000e-03
        min_lr = 3.000000e-04 warmup_iters = 20 style = cosine
    ```
  }];
  let arguments = (ins NN_I64Scalar:$step, Optional<NN_I64Scalar>:$train_iters,
                       F64Attr:$lr, F64Attr:$min_lr, I64Attr:$warmup_iters,
                       OptionalAttr<I64Attr>:$decay_iters,
                       NN_LRDecayStyle:$style);
  let results = (outs NN_F32Scalar:$rate);
  let assemblyFormat = [{
    $step (`train_iters` $train_iters^)? `lr` `=` $lr `min_lr` `=` $min_lr
    `warmup_iters` `=` $warmup_iters (`decay_iters` `=` $decay_iters^)?
    `style` `=` $style attr-dict
  }];
}

def NN_ClipGradNormOp : NN_Op<"clip_grad_norm", [Pure]> {
  let summary = "global gradient norm and the factor that clips it";
  let description = [{
    The gradients arrive summed over `1 / scale` micro-batches. With
    `norm = scale * sqrt(sum over every gradient of g^2)` (the norm of the
    averaged gradient, which is logged) the factor applied to the summed
    gradients is `scale * min(1, max_norm / (norm + 1e-6))`, Megatron's
    clipping; `max_norm = 0` disables clipping. `max_norm >= 0`,
    `0 < scale <= 1`.
    ```mlir
    %norm, %factor = nn.clip_grad_norm %g0, %g1 max_norm = 1.000000e+00
        scale = 1.000000e+00 : tensor<64x64xf32>, tensor<64xf32>
    ```
  }];
  let arguments = (ins Variadic<NN_F32Tensor>:$grads, F64Attr:$max_norm,
                       F64Attr:$scale);
  let results = (outs NN_F32Scalar:$norm, NN_F32Scalar:$factor);
  let assemblyFormat = [{
    $grads `max_norm` `=` $max_norm `scale` `=` $scale attr-dict `:` type($grads)
  }];
}

def NN_SquareNormOp : NN_Op<"square_norm", [Pure]> {
  let summary = "the sum of the squares of every gradient's elements";
  let description = [{
    `sum over every gradient of g^2`, accumulated in f64. With expert
    parallelism the experts' part of the global norm is summed over the ranks
    that hold different experts (`moe.all_reduce` over `ep`) before
    `nn.clip_factor` turns it into the clipping factor.

    ```mlir
    %sq = nn.square_norm %g0, %g1 : tensor<4x64x64xf32>, tensor<4x64x32xf32>
    ```
  }];
  let arguments = (ins Variadic<NN_F32Tensor>:$grads);
  let results = (outs NN_F32Scalar:$square_norm);
  let assemblyFormat = [{ $grads attr-dict `:` type($grads) }];
}

def NN_ClipFactorOp : NN_Op<"clip_factor", [Pure]> {
  let summary = "nn.clip_grad_norm's norm and factor from a summed square norm";
  let description = [{
    `norm = scale * sqrt(square_norm)` and `factor = scale * min(1, max_norm /
    (norm + 1e-6))`, as `nn.clip_grad_norm` computes them from its gradients;
    `max_norm = 0` disables clipping. `max_norm >= 0`, `0 < scale <= 1`.

    ```mlir
    %norm, %factor = nn.clip_factor %sq max_norm = 1.000000e+00
        scale = 5.000000e-01
    ```
  }];
  let arguments = (ins NN_F32Scalar:$square_norm, F64Attr:$max_norm,
                       F64Attr:$scale);
  let results = (outs NN_F32Scalar:$norm, NN_F32Scalar:$factor);
  let assemblyFormat = [{
    $square_norm `max_norm` `=` $max_norm `scale` `=` $scale attr-dict
  }];
}

#endif // NN_GRAD_OPS_TD
