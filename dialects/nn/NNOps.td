//===- NNOps.td - operations of the nn dialect ----------------*- tablegen -*-===//

#ifndef NN_OPS_TD
#define NN_OPS_TD

include "NNDialect.td"
include "NNEnums.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "moe/Interfaces/DifferentiableOpInterface.td"

def NN_EmbeddingOp : NN_Op<"embedding", [Pure, Differentiable]> {
  let summary = "token embedding lookup";
  let description = [{
    `output[t, :] = table[ids[t], :]`. The table is `[V, H]`; an id outside
    `[0, V)` is a run-time error.

    ```mlir
    %h = nn.embedding %ids, %table : tensor<16xi32>, tensor<256x64xf32> -> tensor<16x64xf32>
    ```
  }];
  let arguments = (ins NN_I32Tensor:$ids, NN_FloatTensor:$table);
  let results = (outs NN_FloatTensor:$output);
  let assemblyFormat = [{
    $ids `,` $table attr-dict `:` type($ids) `,` type($table) `->` type($output)
  }];
}

def NN_LinearOp : NN_Op<"linear", [Pure, Differentiable]> {
  let summary = "affine map with a PyTorch-layout weight";
  let description = [{
    `output[t, o] = sum_i input[t, i] * weight[o, i] (+ bias[o])`, accumulated
    in fp32. The weight is `[out, in]` as in `torch.nn.Linear`.

    ```mlir
    %y = nn.linear %x, %w : tensor<16x64xf32>, tensor<256x64xf32> -> tensor<16x256xf32>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$input, NN_FloatTensor:$weight,
                       Optional<NN_FloatTensor>:$bias);
  let results = (outs NN_FloatTensor:$output);
  let assemblyFormat = [{
    $input `,` $weight (`,` $bias^)? attr-dict `:` type($input) `,` type($weight)
    (`,` type($bias)^)? `->` type($output)
  }];
}

def NN_RMSNormOp : NN_Op<"rmsnorm", [Pure, Differentiable, AllTypesMatch<["input", "output"]>]> {
  let summary = "root-mean-square normalisation";
  let description = [{
    `output[t, h] = input[t, h] / sqrt(mean_h input[t, h]^2 + eps) * weight[h]`,
    statistics in fp32. `eps > 0`.

    ```mlir
    %y = nn.rmsnorm %x, %g eps = 1.000000e-05 : tensor<16x64xf32>, tensor<64xf32>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$input, NN_FloatTensor:$weight, F64Attr:$eps);
  let results = (outs NN_FloatTensor:$output);
  let assemblyFormat = [{
    $input `,` $weight `eps` `=` $eps attr-dict `:` type($input) `,` type($weight)
  }];
}

def NN_LayerNormOp : NN_Op<"layernorm", [Pure, Differentiable, AllTypesMatch<["input", "output"]>,
                                         AllTypesMatch<["weight", "bias"]>]> {
  let summary = "layer normalisation";
  let description = [{
    With `m` and `v` the mean and (biased) variance of `input[t, :]` in fp32:
    `output[t, h] = (input[t, h] - m) / sqrt(v + eps) * weight[h] + bias[h]`.
    `eps > 0`.

    ```mlir
    %y = nn.layernorm %x, %g, %b eps = 1.000000e-05 : tensor<16x64xf32>, tensor<64xf32>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$input, NN_FloatTensor:$weight,
                       NN_FloatTensor:$bias, F64Attr:$eps);
  let results = (outs NN_FloatTensor:$output);
  let assemblyFormat = [{
    $input `,` $weight `,` $bias `eps` `=` $eps attr-dict `:` type($input) `,` type($weight)
  }];
}

def NN_RoPEOp : NN_Op<"rope", [Pure, Differentiable, AllTypesMatch<["input", "output"]>]> {
  let summary = "rotary position embedding (rotate-half convention)";
  let description = [{
    The input holds `W / head_dim` heads of `head_dim` channels per token.
    Token `t` is at position `s = t / B` (`B = T / seq_length`). With
    `d = head_dim / 2` and `f_i = theta^(-2i / head_dim)` for `i < d`, each
    head's channels `x_i` and `x_{i+d}` rotate by the angle `s * f_i`:

      `y_i = x_i cos - x_{i+d} sin`, `y_{i+d} = x_{i+d} cos + x_i sin`

    the convention of Hugging Face Llama and Mixtral (`rotate_half`).
    `head_dim` is even and divides the width, `seq_length` divides `T`,
    `theta > 0`.

    ```mlir
    %q2 = nn.rope %q head_dim = 16 seq_length = 8 theta = 1.000000e+04 : tensor<16x64xf32>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$input, I64Attr:$head_dim, I64Attr:$seq_length,
                       F64Attr:$theta);
  let results = (outs NN_FloatTensor:$output);
  let assemblyFormat = [{
    $input `head_dim` `=` $head_dim `seq_length` `=` $seq_length `theta` `=` $theta
    attr-dict `:` type($input)
  }];
}

def NN_AttentionOp : NN_Op<"attention", [Pure, Differentiable, AllTypesMatch<["query", "output"]>,
                                         AllTypesMatch<["key", "value"]>]> {
  let summary = "causal multi-head attention with grouped-query heads";
  let description = [{
    `query` holds `num_heads` heads of `D` channels per token; `key` and `value`
    hold `num_kv_heads` heads of the same `D`; query head `h` attends with
    key/value head `h / (num_heads / num_kv_heads)` (GQA; MHA when the counts
    are equal, MQA when there is one). Within each sequence of `seq_length`
    tokens, a token at position `s` attends to positions `<= s`:

      `output_h = softmax(q_h k_g^T / sqrt(D) + causal mask) v_g`

    with the softmax in fp32. `num_heads` divides the query width, `num_kv_heads`
    divides `num_heads`, and `seq_length` divides `T`.

    ```mlir
    %o = nn.attention %q, %k, %v num_heads = 4 num_kv_heads = 2 seq_length = 8
        : tensor<16x64xf32>, tensor<16x32xf32>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$query, NN_FloatTensor:$key, NN_FloatTensor:$value,
                       I64Attr:$num_heads, I64Attr:$num_kv_heads, I64Attr:$seq_length);
  let results = (outs NN_FloatTensor:$output);
  let assemblyFormat = [{
    $query `,` $key `,` $value `num_heads` `=` $num_heads `num_kv_heads` `=` $num_kv_heads
    `seq_length` `=` $seq_length attr-dict `:` type($query) `,` type($key)
  }];
}

def NN_SwiGLUOp : NN_Op<"swiglu", [Pure, Differentiable, SameOperandsAndResultType]> {
  let summary = "gated SiLU: silu(gate) * up";
  let description = [{
    `output = gate * sigmoid(gate) * up`, the activation of a SwiGLU MLP
    (`gate = x W1^T`, `up = x W3^T` in Hugging Face names).

    ```mlir
    %a = nn.swiglu %gate, %up : tensor<16x128xf32>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$gate, NN_FloatTensor:$up);
  let results = (outs NN_FloatTensor:$output);
  let assemblyFormat = "$gate `,` $up attr-dict `:` type($output)";
  let hasVerifier = 0;
}

def NN_GeLUOp : NN_Op<"gelu", [Pure, Differentiable, SameOperandsAndResultType]> {
  let summary = "Gaussian error linear unit";
  let description = [{
    `approximate = none`: `x * 0.5 * (1 + erf(x / sqrt(2)))`;
    `approximate = tanh`: `0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))`,
    as `torch.nn.functional.gelu`.

    ```mlir
    %a = nn.gelu %x approximate = tanh : tensor<16x128xf32>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$input, NN_GeluApproximation:$approximate);
  let results = (outs NN_FloatTensor:$output);
  let assemblyFormat = "$input `approximate` `=` $approximate attr-dict `:` type($output)";
  let hasVerifier = 0;
}

def NN_SigmoidGateOp : NN_Op<"sigmoid_gate", [Pure, Differentiable, AllTypesMatch<["input", "output"]>]> {
  let summary = "scale each token by the sigmoid of its gate logit";
  let description = [{
    `output[t, h] = input[t, h] * sigmoid(gate[t, 0])`; `gate` is `[T, 1]`, the
    output of a one-unit linear layer (Qwen2-MoE's shared-expert gate).

    ```mlir
    %y = nn.sigmoid_gate %x, %g : tensor<16x64xf32>, tensor<16x1xf32>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$input, NN_FloatTensor:$gate);
  let results = (outs NN_FloatTensor:$output);
  let assemblyFormat = "$input `,` $gate attr-dict `:` type($input) `,` type($gate)";
}

def NN_AddOp : NN_Op<"add", [Pure, Differentiable, Commutative, SameOperandsAndResultType]> {
  let summary = "elementwise sum (residual connection)";
  let description = [{
    `output = lhs + rhs`. Adding a zero constant folds away.

    ```mlir
    %r = nn.add %x, %y : tensor<16x64xf32>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$lhs, NN_FloatTensor:$rhs);
  let results = (outs NN_FloatTensor:$output);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` type($output)";
  let hasVerifier = 0;
  let hasFolder = 1;
}

def NN_CrossEntropyOp : NN_Op<"cross_entropy", [Pure, Differentiable]> {
  let summary = "mean next-token cross-entropy";
  let description = [{
    `loss = sum_t m_t * (logsumexp_v logits[t, v] - logits[t, labels[t]]) /
    sum_t m_t` in fp32, with `m = loss_mask` when given and 1 otherwise (a
    fully masked batch gives 0). Labels outside `[0, V)` are a run-time error.

    ```mlir
    %l = nn.cross_entropy %logits, %labels : tensor<16x256xf32>, tensor<16xi32>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$logits, NN_I32Tensor:$labels,
                       Optional<NN_F32Tensor>:$loss_mask);
  let results = (outs NN_F32Scalar:$loss);
  let assemblyFormat = [{
    $logits `,` $labels (`,` $loss_mask^)? attr-dict `:` type($logits) `,` type($labels)
    (`,` type($loss_mask)^)?
  }];
}

def NN_AdamWOp : NN_Op<"adamw", [Pure,
    AllTypesMatch<["param", "grad", "exp_avg", "exp_avg_sq",
                   "new_param", "new_exp_avg", "new_exp_avg_sq"]>]> {
  let summary = "one AdamW update of a parameter (decoupled weight decay)";
  let description = [{
    With step `n >= 1` (after this update) and learning rate `lr`:

      `m' = beta1 m + (1 - beta1) g`, `v' = beta2 v + (1 - beta2) g^2`,
      `p' = p - lr * ((m' / (1 - beta1^n)) / (sqrt(v' / (1 - beta2^n)) + eps)
                      + weight_decay * p)`

    as `torch.optim.AdamW` and Megatron. With `grad_scale` (moe-optimizer's
    clipping and micro-batch averaging factor) `g` is the gradient times it. The graph builder sets
    `weight_decay = 0` for biases and 1-D parameters (norm weights), as
    Megatron does. `0 <= beta1, beta2 < 1`, `eps > 0`, `weight_decay >= 0`.

    ```mlir
    %p2, %m2, %v2 = nn.adamw %p, %g, %m, %v, %lr, %step beta1 = 9.000000e-01
        beta2 = 9.990000e-01 eps = 1.000000e-08 weight_decay = 1.000000e-01
        : tensor<64x64xf32>
    ```
  }];
  let arguments = (ins NN_F32Tensor:$param, NN_F32Tensor:$grad, NN_F32Tensor:$exp_avg,
                       NN_F32Tensor:$exp_avg_sq, NN_F32Scalar:$lr, NN_I64Scalar:$step,
                       Optional<NN_F32Scalar>:$grad_scale,
                       F64Attr:$beta1, F64Attr:$beta2, F64Attr:$eps, F64Attr:$weight_decay);
  let results = (outs NN_F32Tensor:$new_param, NN_F32Tensor:$new_exp_avg,
                      NN_F32Tensor:$new_exp_avg_sq);
  let assemblyFormat = [{
    $param `,` $grad `,` $exp_avg `,` $exp_avg_sq `,` $lr `,` $step
    (`grad_scale` $grad_scale^)? `beta1` `=` $beta1
    `beta2` `=` $beta2 `eps` `=` $eps `weight_decay` `=` $weight_decay attr-dict
    `:` type($param)
  }];
}

include "NNGradOps.td"

#endif // NN_OPS_TD
