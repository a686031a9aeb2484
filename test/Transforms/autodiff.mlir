// RUN: moe-opt %s -moe-autodiff -split-input-file | FileCheck %s

// moe-autodiff on one small @forward per differentiable op, written as the
// graph builder writes it: moe.input / moe.param arguments, losses returned
// with moe.result. Each case checks that @forward_backward holds the op's
// backward op wired to the forward values, and that the gradients come back
// marked moe.grad in argument order.

//===----------------------------------------------------------------------===//
// nn ops
//===----------------------------------------------------------------------===//

// nn.embedding: @forward stays as it was; @forward_backward keeps the forward
// ops, marks where the backward pass begins, seeds the loss with a constant
// 1.0 and returns the loss, then the table's gradient.
// CHECK-LABEL: func.func @forward(
// CHECK-SAME: -> (tensor<f32> {moe.result = "lm_loss"}) {
// CHECK-NEXT: nn.embedding
// CHECK-NEXT: nn.cross_entropy
// CHECK-NEXT: return
// CHECK-NEXT: }
// CHECK-LABEL: func.func @forward_backward(
// CHECK-SAME: %[[IDS:arg[0-9]+]]: tensor<4xi32> {moe.input = "tokens"}, %[[LABELS:arg[0-9]+]]: tensor<4xi32> {moe.input = "labels"}, %[[TABLE:arg[0-9]+]]: tensor<16x8xf32> {moe.param = "embed.weight"})
// CHECK-SAME: -> (tensor<f32> {moe.result = "lm_loss"}, tensor<16x8xf32> {moe.grad = "embed.weight"})
// CHECK-NEXT: %[[H:.*]] = nn.embedding %[[IDS]], %[[TABLE]]
// CHECK-NEXT: %[[LOSS:.*]] = nn.cross_entropy %[[H]], %[[LABELS]]
// CHECK-NEXT: moe.begin_backward
// CHECK-NEXT: %[[SEED:.*]] = arith.constant dense<1.000000e+00> : tensor<f32>
// CHECK: %[[DH:.*]] = nn.cross_entropy_grad %[[SEED]], %[[H]], %[[LABELS]] : tensor<4x8xf32>, tensor<4xi32>
// CHECK: %[[DT:.*]] = nn.embedding_grad %[[IDS]], %[[DH]] : tensor<4xi32>, tensor<4x8xf32> -> tensor<16x8xf32>
// CHECK: return %[[LOSS]], %[[DT]] : tensor<f32>, tensor<16x8xf32>
func.func @forward(%ids: tensor<4xi32> {moe.input = "tokens"}, %labels: tensor<4xi32> {moe.input = "labels"},
                   %table: tensor<16x8xf32> {moe.param = "embed.weight"})
    -> (tensor<f32> {moe.result = "lm_loss"}) {
  %h = nn.embedding %ids, %table : tensor<4xi32>, tensor<16x8xf32> -> tensor<4x8xf32>
  %loss = nn.cross_entropy %h, %labels : tensor<4x8xf32>, tensor<4xi32>
  return %loss : tensor<f32>
}

// -----

// nn.linear without a bias: the input and the weight gradients, no bias_grad.
// CHECK-LABEL: func.func @forward_backward(
// CHECK-SAME: %[[X:arg[0-9]+]]: tensor<4x8xf32> {moe.input = "hidden"}, %[[LABELS:arg[0-9]+]]: tensor<4xi32> {moe.input = "labels"}, %[[W:arg[0-9]+]]: tensor<16x8xf32> {moe.param = "proj.weight"})
// CHECK-SAME: -> (tensor<f32> {moe.result = "lm_loss"}, tensor<16x8xf32> {moe.grad = "proj.weight"})
// CHECK: %[[Y:.*]] = nn.linear %[[X]], %[[W]] : tensor<4x8xf32>, tensor<16x8xf32> -> tensor<4x16xf32>
// CHECK: %[[LOSS:.*]] = nn.cross_entropy %[[Y]], %[[LABELS]]
// CHECK: %[[DY:.*]] = nn.cross_entropy_grad %{{.*}}, %[[Y]], %[[LABELS]]
// CHECK-NOT: nn.bias_grad
// CHECK: nn.linear_grad_input %[[DY]], %[[W]] : tensor<4x16xf32>, tensor<16x8xf32> -> tensor<4x8xf32>
// CHECK-NOT: nn.bias_grad
// CHECK: %[[DW:.*]] = nn.linear_grad_weight %[[DY]], %[[X]] : tensor<4x16xf32>, tensor<4x8xf32> -> tensor<16x8xf32>
// CHECK-NOT: nn.bias_grad
// CHECK: return %[[LOSS]], %[[DW]] : tensor<f32>, tensor<16x8xf32>
func.func @forward(%x: tensor<4x8xf32> {moe.input = "hidden"}, %labels: tensor<4xi32> {moe.input = "labels"},
                   %w: tensor<16x8xf32> {moe.param = "proj.weight"})
    -> (tensor<f32> {moe.result = "lm_loss"}) {
  %y = nn.linear %x, %w : tensor<4x8xf32>, tensor<16x8xf32> -> tensor<4x16xf32>
  %loss = nn.cross_entropy %y, %labels : tensor<4x16xf32>, tensor<4xi32>
  return %loss : tensor<f32>
}

// -----

// nn.linear with a bias: the bias gradient is the column sum of dy.
// CHECK-LABEL: func.func @forward_backward(
// CHECK-SAME: %[[X:arg[0-9]+]]: tensor<4x8xf32> {moe.input = "hidden"}, %[[LABELS:arg[0-9]+]]: tensor<4xi32> {moe.input = "labels"}, %[[W:arg[0-9]+]]: tensor<16x8xf32> {moe.param = "proj.weight"}, %[[B:arg[0-9]+]]: tensor<16xf32> {moe.param = "proj.bias"})
// CHECK-SAME: -> (tensor<f32> {moe.result = "lm_loss"}, tensor<16x8xf32> {moe.grad = "proj.weight"}, tensor<16xf32> {moe.grad = "proj.bias"})
// CHECK: %[[Y:.*]] = nn.linear %[[X]], %[[W]], %[[B]]
// CHECK: %[[LOSS:.*]] = nn.cross_entropy %[[Y]], %[[LABELS]]
// CHECK: %[[DY:.*]] = nn.cross_entropy_grad %{{.*}}, %[[Y]], %[[LABELS]]
// CHECK: nn.linear_grad_input %[[DY]], %[[W]]
// CHECK: %[[DW:.*]] = nn.linear_grad_weight %[[DY]], %[[X]]
// CHECK: %[[DB:.*]] = nn.bias_grad %[[DY]] : tensor<4x16xf32> -> tensor<16xf32>
// CHECK: return %[[LOSS]], %[[DW]], %[[DB]] : tensor<f32>, tensor<16x8xf32>, tensor<16xf32>
func.func @forward(%x: tensor<4x8xf32> {moe.input = "hidden"}, %labels: tensor<4xi32> {moe.input = "labels"},
                   %w: tensor<16x8xf32> {moe.param = "proj.weight"}, %b: tensor<16xf32> {moe.param = "proj.bias"})
    -> (tensor<f32> {moe.result = "lm_loss"}) {
  %y = nn.linear %x, %w, %b : tensor<4x8xf32>, tensor<16x8xf32>, tensor<16xf32> -> tensor<4x16xf32>
  %loss = nn.cross_entropy %y, %labels : tensor<4x16xf32>, tensor<4xi32>
  return %loss : tensor<f32>
}

// -----

// nn.rmsnorm: one backward op for the input and the weight, with the same eps.
// CHECK-LABEL: func.func @forward_backward(
// CHECK-SAME: %[[X:arg[0-9]+]]: tensor<4x8xf32> {moe.input = "hidden"}, %[[LABELS:arg[0-9]+]]: tensor<4xi32> {moe.input = "labels"}, %[[G:arg[0-9]+]]: tensor<8xf32> {moe.param = "norm.weight"})
// CHECK-SAME: -> (tensor<f32> {moe.result = "lm_loss"}, tensor<8xf32> {moe.grad = "norm.weight"})
// CHECK: %[[N:.*]] = nn.rmsnorm %[[X]], %[[G]] eps = 1.000000e-05
// CHECK: %[[DN:.*]] = nn.cross_entropy_grad %{{.*}}, %[[N]], %[[LABELS]]
// CHECK: %{{.*}}, %[[DG:.*]] = nn.rmsnorm_grad %[[DN]], %[[X]], %[[G]] eps = 1.000000e-05 : tensor<4x8xf32>, tensor<8xf32>
// CHECK: return %{{.*}}, %[[DG]] : tensor<f32>, tensor<8xf32>
func.func @forward(%x: tensor<4x8xf32> {moe.input = "hidden"}, %labels: tensor<4xi32> {moe.input = "labels"},
                   %g: tensor<8xf32> {moe.param = "norm.weight"})
    -> (tensor<f32> {moe.result = "lm_loss"}) {
  %n = nn.rmsnorm %x, %g eps = 1.0e-5 : tensor<4x8xf32>, tensor<8xf32>
  %loss = nn.cross_entropy %n, %labels : tensor<4x8xf32>, tensor<4xi32>
  return %loss : tensor<f32>
}

// -----

// nn.layernorm: the gradients of the input, the weight and the bias.
// CHECK-LABEL: func.func @forward_backward(
// CHECK-SAME: %[[X:arg[0-9]+]]: tensor<4x8xf32> {moe.input = "hidden"}, %[[LABELS:arg[0-9]+]]: tensor<4xi32> {moe.input = "labels"}, %[[G:arg[0-9]+]]: tensor<8xf32> {moe.param = "norm.weight"}, %[[B:arg[0-9]+]]: tensor<8xf32> {moe.param = "norm.bias"})
// CHECK-SAME: -> (tensor<f32> {moe.result = "lm_loss"}, tensor<8xf32> {moe.grad = "norm.weight"}, tensor<8xf32> {moe.grad = "norm.bias"})
// CHECK: %[[N:.*]] = nn.layernorm %[[X]], %[[G]], %[[B]] eps = 1.000000e-05
// CHECK: %[[DN:.*]] = nn.cross_entropy_grad %{{.*}}, %[[N]], %[[LABELS]]
// CHECK: %{{.*}}, %[[DG:.*]], %[[DB:.*]] = nn.layernorm_grad %[[DN]], %[[X]], %[[G]] eps = 1.000000e-05 : tensor<4x8xf32>, tensor<8xf32>
// CHECK: return %{{.*}}, %[[DG]], %[[DB]] : tensor<f32>, tensor<8xf32>, tensor<8xf32>
func.func @forward(%x: tensor<4x8xf32> {moe.input = "hidden"}, %labels: tensor<4xi32> {moe.input = "labels"},
                   %g: tensor<8xf32> {moe.param = "norm.weight"}, %b: tensor<8xf32> {moe.param = "norm.bias"})
    -> (tensor<f32> {moe.result = "lm_loss"}) {
  %n = nn.layernorm %x, %g, %b eps = 1.0e-5 : tensor<4x8xf32>, tensor<8xf32>
  %loss = nn.cross_entropy %n, %labels : tensor<4x8xf32>, tensor<4xi32>
  return %loss : tensor<f32>
}

// -----

// nn.rope: the inverse rotation with the same attributes, then on through the
// projection in front of it.
// CHECK-LABEL: func.func @forward_backward(
// CHECK-SAME: %[[X:arg[0-9]+]]: tensor<4x8xf32> {moe.input = "hidden"}, %[[LABELS:arg[0-9]+]]: tensor<4xi32> {moe.input = "labels"}, %[[W:arg[0-9]+]]: tensor<8x8xf32> {moe.param = "q_proj.weight"})
// CHECK-SAME: -> (tensor<f32> {moe.result = "lm_loss"}, tensor<8x8xf32> {moe.grad = "q_proj.weight"})
// CHECK: %[[Q:.*]] = nn.linear %[[X]], %[[W]]
// CHECK: %[[R:.*]] = nn.rope %[[Q]] head_dim = 4 seq_length = 2 theta = 1.000000e+04
// CHECK: %[[DR:.*]] = nn.cross_entropy_grad %{{.*}}, %[[R]], %[[LABELS]]
// CHECK: %[[DQ:.*]] = nn.rope_grad %[[DR]] head_dim = 4 seq_length = 2 theta = 1.000000e+04 : tensor<4x8xf32>
// CHECK: %[[DW:.*]] = nn.linear_grad_weight %[[DQ]], %[[X]]
// CHECK: return %{{.*}}, %[[DW]]
func.func @forward(%x: tensor<4x8xf32> {moe.input = "hidden"}, %labels: tensor<4xi32> {moe.input = "labels"},
                   %w: tensor<8x8xf32> {moe.param = "q_proj.weight"})
    -> (tensor<f32> {moe.result = "lm_loss"}) {
  %q = nn.linear %x, %w : tensor<4x8xf32>, tensor<8x8xf32> -> tensor<4x8xf32>
  %r = nn.rope %q head_dim = 4 seq_length = 2 theta = 1.0e4 : tensor<4x8xf32>
  %loss = nn.cross_entropy %r, %labels : tensor<4x8xf32>, tensor<4xi32>
  return %loss : tensor<f32>
}

// -----

// nn.attention (GQA): one backward op gives the query, key and value
// gradients, each flowing into its projection; the input's three gradients
// are summed with nn.add.
// CHECK-LABEL: func.func @forward_backward(
// CHECK-SAME: %[[X:arg[0-9]+]]: tensor<4x8xf32> {moe.param = "x"}, %[[LABELS:arg[0-9]+]]: tensor<4xi32> {moe.input = "labels"}, %[[WQ:arg[0-9]+]]: tensor<8x8xf32> {moe.param = "q_proj.weight"}, %[[WK:arg[0-9]+]]: tensor<4x8xf32> {moe.param = "k_proj.weight"}, %[[WV:arg[0-9]+]]: tensor<4x8xf32> {moe.param = "v_proj.weight"})
// CHECK-SAME: -> (tensor<f32> {moe.result = "lm_loss"}, tensor<4x8xf32> {moe.grad = "x"}, tensor<8x8xf32> {moe.grad = "q_proj.weight"}, tensor<4x8xf32> {moe.grad = "k_proj.weight"}, tensor<4x8xf32> {moe.grad = "v_proj.weight"})
// CHECK: %[[Q:.*]] = nn.linear %[[X]], %[[WQ]]
// CHECK: %[[K:.*]] = nn.linear %[[X]], %[[WK]]
// CHECK: %[[V:.*]] = nn.linear %[[X]], %[[WV]]
// CHECK: %[[O:.*]] = nn.attention %[[Q]], %[[K]], %[[V]] num_heads = 2 num_kv_heads = 1 seq_length = 2
// CHECK: %[[DO:.*]] = nn.cross_entropy_grad %{{.*}}, %[[O]], %[[LABELS]]
// CHECK: %[[DQ:.*]], %[[DK:.*]], %[[DV:.*]] = nn.attention_grad %[[DO]], %[[Q]], %[[K]], %[[V]] num_heads = 2 num_kv_heads = 1 seq_length = 2 : tensor<4x8xf32>, tensor<4x4xf32>
// CHECK: %[[DXV:.*]] = nn.linear_grad_input %[[DV]], %[[WV]]
// CHECK: %[[DWV:.*]] = nn.linear_grad_weight %[[DV]], %[[X]]
// CHECK: %[[DXK:.*]] = nn.linear_grad_input %[[DK]], %[[WK]]
// CHECK: %[[DWK:.*]] = nn.linear_grad_weight %[[DK]], %[[X]]
// CHECK: %[[SUM:.*]] = nn.add %[[DXV]], %[[DXK]]
// CHECK: %[[DXQ:.*]] = nn.linear_grad_input %[[DQ]], %[[WQ]]
// CHECK: %[[DWQ:.*]] = nn.linear_grad_weight %[[DQ]], %[[X]]
// CHECK: %[[DX:.*]] = nn.add %[[SUM]], %[[DXQ]]
// CHECK: return %{{.*}}, %[[DX]], %[[DWQ]], %[[DWK]], %[[DWV]]
func.func @forward(%x: tensor<4x8xf32> {moe.param = "x"}, %labels: tensor<4xi32> {moe.input = "labels"},
                   %wq: tensor<8x8xf32> {moe.param = "q_proj.weight"}, %wk: tensor<4x8xf32> {moe.param = "k_proj.weight"},
                   %wv: tensor<4x8xf32> {moe.param = "v_proj.weight"})
    -> (tensor<f32> {moe.result = "lm_loss"}) {
  %q = nn.linear %x, %wq : tensor<4x8xf32>, tensor<8x8xf32> -> tensor<4x8xf32>
  %k = nn.linear %x, %wk : tensor<4x8xf32>, tensor<4x8xf32> -> tensor<4x4xf32>
  %v = nn.linear %x, %wv : tensor<4x8xf32>, tensor<4x8xf32> -> tensor<4x4xf32>
  %o = nn.attention %q, %k, %v num_heads = 2 num_kv_heads = 1 seq_length = 2 : tensor<4x8xf32>, tensor<4x4xf32>
  %loss = nn.cross_entropy %o, %labels : tensor<4x8xf32>, tensor<4xi32>
  return %loss : tensor<f32>
}

// -----

// nn.swiglu: the gate gradient reaches w1, the up gradient w3.
// CHECK-LABEL: func.func @forward_backward(
// CHECK-SAME: %[[X:arg[0-9]+]]: tensor<4x8xf32> {moe.input = "hidden"}, %[[LABELS:arg[0-9]+]]: tensor<4xi32> {moe.input = "labels"}, %[[W1:arg[0-9]+]]: tensor<16x8xf32> {moe.param = "w1.weight"}, %[[W3:arg[0-9]+]]: tensor<16x8xf32> {moe.param = "w3.weight"})
// CHECK-SAME: -> (tensor<f32> {moe.result = "lm_loss"}, tensor<16x8xf32> {moe.grad = "w1.weight"}, tensor<16x8xf32> {moe.grad = "w3.weight"})
// CHECK: %[[GATE:.*]] = nn.linear %[[X]], %[[W1]]
// CHECK: %[[UP:.*]] = nn.linear %[[X]], %[[W3]]
// CHECK: %[[A:.*]] = nn.swiglu %[[GATE]], %[[UP]]
// CHECK: %[[DA:.*]] = nn.cross_entropy_grad %{{.*}}, %[[A]], %[[LABELS]]
// CHECK: %[[DGATE:.*]], %[[DUP:.*]] = nn.swiglu_grad %[[DA]], %[[GATE]], %[[UP]] : tensor<4x16xf32>
// CHECK-DAG: %[[DW3:.*]] = nn.linear_grad_weight %[[DUP]], %[[X]]
// CHECK-DAG: %[[DW1:.*]] = nn.linear_grad_weight %[[DGATE]], %[[X]]
// CHECK: return %{{.*}}, %[[DW1]], %[[DW3]]
func.func @forward(%x: tensor<4x8xf32> {moe.input = "hidden"}, %labels: tensor<4xi32> {moe.input = "labels"},
                   %w1: tensor<16x8xf32> {moe.param = "w1.weight"}, %w3: tensor<16x8xf32> {moe.param = "w3.weight"})
    -> (tensor<f32> {moe.result = "lm_loss"}) {
  %gate = nn.linear %x, %w1 : tensor<4x8xf32>, tensor<16x8xf32> -> tensor<4x16xf32>
  %up = nn.linear %x, %w3 : tensor<4x8xf32>, tensor<16x8xf32> -> tensor<4x16xf32>
  %a = nn.swiglu %gate, %up : tensor<4x16xf32>
  %loss = nn.cross_entropy %a, %labels : tensor<4x16xf32>, tensor<4xi32>
  return %loss : tensor<f32>
}

// -----

// nn.gelu: the derivative of the same formula (tanh) at the forward input.
// CHECK-LABEL: func.func @forward_backward(
// CHECK-SAME: %[[X:arg[0-9]+]]: tensor<4x8xf32> {moe.input = "hidden"}, %[[LABELS:arg[0-9]+]]: tensor<4xi32> {moe.input = "labels"}, %[[W:arg[0-9]+]]: tensor<16x8xf32> {moe.param = "fc.weight"})
// CHECK-SAME: -> (tensor<f32> {moe.result = "lm_loss"}, tensor<16x8xf32> {moe.grad = "fc.weight"})
// CHECK: %[[H:.*]] = nn.linear %[[X]], %[[W]]
// CHECK: %[[A:.*]] = nn.gelu %[[H]] approximate = tanh
// CHECK: %[[DA:.*]] = nn.cross_entropy_grad %{{.*}}, %[[A]], %[[LABELS]]
// CHECK: %[[DH:.*]] = nn.gelu_grad %[[DA]], %[[H]] approximate = tanh : tensor<4x16xf32>
// CHECK: %[[DW:.*]] = nn.linear_grad_weight %[[DH]], %[[X]]
// CHECK: return %{{.*}}, %[[DW]]
func.func @forward(%x: tensor<4x8xf32> {moe.input = "hidden"}, %labels: tensor<4xi32> {moe.input = "labels"},
                   %w: tensor<16x8xf32> {moe.param = "fc.weight"})
    -> (tensor<f32> {moe.result = "lm_loss"}) {
  %h = nn.linear %x, %w : tensor<4x8xf32>, tensor<16x8xf32> -> tensor<4x16xf32>
  %a = nn.gelu %h approximate = tanh : tensor<4x16xf32>
  %loss = nn.cross_entropy %a, %labels : tensor<4x16xf32>, tensor<4xi32>
  return %loss : tensor<f32>
}

// -----

// nn.sigmoid_gate (Qwen2-MoE's shared-expert gate): the gate gradient reaches
// the one-unit gate projection; the input's two gradients are summed.
// CHECK-LABEL: func.func @forward_backward(
// CHECK-SAME: %[[X:arg[0-9]+]]: tensor<4x8xf32> {moe.param = "x"}, %[[LABELS:arg[0-9]+]]: tensor<4xi32> {moe.input = "labels"}, %[[WG:arg[0-9]+]]: tensor<1x8xf32> {moe.param = "shared_expert_gate.weight"})
// CHECK-SAME: -> (tensor<f32> {moe.result = "lm_loss"}, tensor<4x8xf32> {moe.grad = "x"}, tensor<1x8xf32> {moe.grad = "shared_expert_gate.weight"})
// CHECK: %[[G:.*]] = nn.linear %[[X]], %[[WG]] : tensor<4x8xf32>, tensor<1x8xf32> -> tensor<4x1xf32>
// CHECK: %[[Y:.*]] = nn.sigmoid_gate %[[X]], %[[G]]
// CHECK: %[[DY:.*]] = nn.cross_entropy_grad %{{.*}}, %[[Y]], %[[LABELS]]
// CHECK: %[[DX1:.*]], %[[DG:.*]] = nn.sigmoid_gate_grad %[[DY]], %[[X]], %[[G]] : tensor<4x8xf32>, tensor<4x1xf32>
// CHECK: %[[DX2:.*]] = nn.linear_grad_input %[[DG]], %[[WG]]
// CHECK: %[[DWG:.*]] = nn.linear_grad_weight %[[DG]], %[[X]]
// CHECK: %[[DX:.*]] = nn.add %[[DX1]], %[[DX2]]
// CHECK: return %{{.*}}, %[[DX]], %[[DWG]]
func.func @forward(%x: tensor<4x8xf32> {moe.param = "x"}, %labels: tensor<4xi32> {moe.input = "labels"},
                   %wg: tensor<1x8xf32> {moe.param = "shared_expert_gate.weight"})
    -> (tensor<f32> {moe.result = "lm_loss"}) {
  %g = nn.linear %x, %wg : tensor<4x8xf32>, tensor<1x8xf32> -> tensor<4x1xf32>
  %y = nn.sigmoid_gate %x, %g : tensor<4x8xf32>, tensor<4x1xf32>
  %loss = nn.cross_entropy %y, %labels : tensor<4x8xf32>, tensor<4xi32>
  return %loss : tensor<f32>
}

// -----

// nn.add (a residual): both summands receive the output gradient unchanged.
// CHECK-LABEL: func.func @forward_backward(
// CHECK-SAME: %[[X:arg[0-9]+]]: tensor<4x8xf32> {moe.input = "hidden"}, %[[LABELS:arg[0-9]+]]: tensor<4xi32> {moe.input = "labels"}, %[[W1:arg[0-9]+]]: tensor<16x8xf32> {moe.param = "a.weight"}, %[[W2:arg[0-9]+]]: tensor<16x8xf32> {moe.param = "b.weight"})
// CHECK-SAME: -> (tensor<f32> {moe.result = "lm_loss"}, tensor<16x8xf32> {moe.grad = "a.weight"}, tensor<16x8xf32> {moe.grad = "b.weight"})
// CHECK: %[[A:.*]] = nn.linear %[[X]], %[[W1]]
// CHECK: %[[B:.*]] = nn.linear %[[X]], %[[W2]]
// CHECK: %[[S:.*]] = nn.add %[[A]], %[[B]]
// CHECK: %[[DS:.*]] = nn.cross_entropy_grad %{{.*}}, %[[S]], %[[LABELS]]
// CHECK-NOT: nn.add
// CHECK-DAG: %[[DW2:.*]] = nn.linear_grad_weight %[[DS]], %[[X]]
// CHECK-DAG: %[[DW1:.*]] = nn.linear_grad_weight %[[DS]], %[[X]]
// CHECK: return %{{.*}}, %[[DW1]], %[[DW2]]
func.func @forward(%x: tensor<4x8xf32> {moe.input = "hidden"}, %labels: tensor<4xi32> {moe.input = "labels"},
                   %w1: tensor<16x8xf32> {moe.param = "a.weight"}, %w2: tensor<16x8xf32> {moe.param = "b.weight"})
    -> (tensor<f32> {moe.result = "lm_loss"}) {
  %a = nn.linear %x, %w1 : tensor<4x8xf32>, tensor<16x8xf32> -> tensor<4x16xf32>
  %b = nn.linear %x, %w2 : tensor<4x8xf32>, tensor<16x8xf32> -> tensor<4x16xf32>
  %s = nn.add %a, %b : tensor<4x16xf32>
  %loss = nn.cross_entropy %s, %labels : tensor<4x16xf32>, tensor<4xi32>
  return %loss : tensor<f32>
}

// -----

// A value used twice (both operands of one nn.add) gets the sum of its two
// gradients, with nn.add, before it flows on.
// CHECK-LABEL: func.func @forward_backward(
// CHECK-SAME: %[[X:arg[0-9]+]]: tensor<4x8xf32> {moe.input = "hidden"}, %[[LABELS:arg[0-9]+]]: tensor<4xi32> {moe.input = "labels"}, %[[W:arg[0-9]+]]: tensor<16x8xf32> {moe.param = "fc.weight"})
// CHECK-SAME: -> (tensor<f32> {moe.result = "lm_loss"}, tensor<16x8xf32> {moe.grad = "fc.weight"})
// CHECK: %[[H:.*]] = nn.linear %[[X]], %[[W]]
// CHECK: %[[D:.*]] = nn.add %[[H]], %[[H]]
// CHECK: %[[DD:.*]] = nn.cross_entropy_grad %{{.*}}, %[[D]], %[[LABELS]]
// CHECK: %[[DH:.*]] = nn.add %[[DD]], %[[DD]] : tensor<4x16xf32>
// CHECK: %[[DW:.*]] = nn.linear_grad_weight %[[DH]], %[[X]]
// CHECK: return %{{.*}}, %[[DW]]
func.func @forward(%x: tensor<4x8xf32> {moe.input = "hidden"}, %labels: tensor<4xi32> {moe.input = "labels"},
                   %w: tensor<16x8xf32> {moe.param = "fc.weight"})
    -> (tensor<f32> {moe.result = "lm_loss"}) {
  %h = nn.linear %x, %w : tensor<4x8xf32>, tensor<16x8xf32> -> tensor<4x16xf32>
  %d = nn.add %h, %h : tensor<4x16xf32>
  %loss = nn.cross_entropy %d, %labels : tensor<4x16xf32>, tensor<4xi32>
  return %loss : tensor<f32>
}

// -----

// nn.cross_entropy with a loss mask: the mask is passed to the backward op and
// gets no gradient of its own.
// CHECK-LABEL: func.func @forward_backward(
// CHECK-SAME: %[[LABELS:arg[0-9]+]]: tensor<4xi32> {moe.input = "labels"}, %[[MASK:arg[0-9]+]]: tensor<4xf32> {moe.input = "loss_mask"}, %[[LOGITS:arg[0-9]+]]: tensor<4x16xf32> {moe.param = "logits"})
// CHECK-SAME: -> (tensor<f32> {moe.result = "lm_loss"}, tensor<4x16xf32> {moe.grad = "logits"})
// CHECK: %[[LOSS:.*]] = nn.cross_entropy %[[LOGITS]], %[[LABELS]], %[[MASK]]
// CHECK: %[[SEED:.*]] = arith.constant dense<1.000000e+00> : tensor<f32>
// CHECK: %[[DL:.*]] = nn.cross_entropy_grad %[[SEED]], %[[LOGITS]], %[[LABELS]], %[[MASK]] : tensor<4x16xf32>, tensor<4xi32>, tensor<4xf32>
// CHECK: return %[[LOSS]], %[[DL]]
func.func @forward(%labels: tensor<4xi32> {moe.input = "labels"}, %mask: tensor<4xf32> {moe.input = "loss_mask"},
                   %logits: tensor<4x16xf32> {moe.param = "logits"})
    -> (tensor<f32> {moe.result = "lm_loss"}) {
  %loss = nn.cross_entropy %logits, %labels, %mask : tensor<4x16xf32>, tensor<4xi32>, tensor<4xf32>
  return %loss : tensor<f32>
}

// -----

// A parameter that does not reach the loss gets a zero gradient of its type,
// still in argument order between the others.
// CHECK-LABEL: func.func @forward_backward(
// CHECK-SAME: -> (tensor<f32> {moe.result = "lm_loss"}, tensor<16x8xf32> {moe.grad = "fc.weight"}, tensor<3x5xf32> {moe.grad = "unused.weight"}, tensor<16xf32> {moe.grad = "fc.bias"})
// CHECK: %[[DW:.*]] = nn.linear_grad_weight
// CHECK: %[[DB:.*]] = nn.bias_grad
// CHECK: %[[ZERO:.*]] = arith.constant dense<0.000000e+00> : tensor<3x5xf32>
// CHECK: return %{{.*}}, %[[DW]], %[[ZERO]], %[[DB]] : tensor<f32>, tensor<16x8xf32>, tensor<3x5xf32>, tensor<16xf32>
func.func @forward(%x: tensor<4x8xf32> {moe.input = "hidden"}, %labels: tensor<4xi32> {moe.input = "labels"},
                   %w: tensor<16x8xf32> {moe.param = "fc.weight"}, %u: tensor<3x5xf32> {moe.param = "unused.weight"},
                   %b: tensor<16xf32> {moe.param = "fc.bias"})
    -> (tensor<f32> {moe.result = "lm_loss"}) {
  %y = nn.linear %x, %w, %b : tensor<4x8xf32>, tensor<16x8xf32>, tensor<16xf32> -> tensor<4x16xf32>
  %loss = nn.cross_entropy %y, %labels : tensor<4x16xf32>, tensor<4xi32>
  return %loss : tensor<f32>
}

// -----

//===----------------------------------------------------------------------===//
// moe ops: routing and the router losses
//===----------------------------------------------------------------------===//

// moe.router and moe.z_loss: the z-loss gradient is seeded with its own 1.0
// and reaches the router weight and input as a bias-free linear layer's.
// CHECK-LABEL: func.func @forward_backward(
// CHECK-SAME: %[[X:arg[0-9]+]]: tensor<4x8xf32> {moe.param = "x"}, %[[WR:arg[0-9]+]]: tensor<4x8xf32> {moe.param = "gate.weight"})
// CHECK-SAME: -> (tensor<f32> {moe.result = "z_loss"}, tensor<4x8xf32> {moe.grad = "x"}, tensor<4x8xf32> {moe.grad = "gate.weight"})
// CHECK: %[[L:.*]] = moe.router %[[X]], %[[WR]]
// CHECK: %[[Z:.*]] = moe.z_loss %[[L]] coeff = 1.000000e-03
// CHECK: %[[SEED:.*]] = arith.constant dense<1.000000e+00> : tensor<f32>
// CHECK: %[[DL:.*]] = moe.z_loss_grad %[[SEED]], %[[L]] coeff = 1.000000e-03 : tensor<4x4xf32>
// CHECK: %[[DX:.*]] = nn.linear_grad_input %[[DL]], %[[WR]] : tensor<4x4xf32>, tensor<4x8xf32> -> tensor<4x8xf32>
// CHECK: %[[DWR:.*]] = nn.linear_grad_weight %[[DL]], %[[X]] : tensor<4x4xf32>, tensor<4x8xf32> -> tensor<4x8xf32>
// CHECK: return %[[Z]], %[[DX]], %[[DWR]]
func.func @forward(%x: tensor<4x8xf32> {moe.param = "x"}, %wr: tensor<4x8xf32> {moe.param = "gate.weight"})
    -> (tensor<f32> {moe.result = "z_loss"}) {
  %l = moe.router %x, %wr : tensor<4x8xf32>, tensor<4x8xf32> -> tensor<4x4xf32>
  %z = moe.z_loss %l coeff = 1.0e-3 : tensor<4x4xf32>
  return %z : tensor<f32>
}

// -----

// moe.router with a bf16 input: the input gradient has the input's type, the
// weight gradient the weight's.
// CHECK-LABEL: func.func @forward_backward(
// CHECK-SAME: -> (tensor<f32> {moe.result = "z_loss"}, tensor<4x8xbf16> {moe.grad = "x"}, tensor<4x8xf32> {moe.grad = "gate.weight"})
// CHECK: nn.linear_grad_input %{{.*}}, %{{.*}} : tensor<4x4xf32>, tensor<4x8xf32> -> tensor<4x8xbf16>
// CHECK: nn.linear_grad_weight %{{.*}}, %{{.*}} : tensor<4x4xf32>, tensor<4x8xbf16> -> tensor<4x8xf32>
func.func @forward(%x: tensor<4x8xbf16> {moe.param = "x"}, %wr: tensor<4x8xf32> {moe.param = "gate.weight"})
    -> (tensor<f32> {moe.result = "z_loss"}) {
  %l = moe.router %x, %wr : tensor<4x8xbf16>, tensor<4x8xf32> -> tensor<4x4xf32>
  %z = moe.z_loss %l coeff = 1.0e-3 : tensor<4x4xf32>
  return %z : tensor<f32>
}

// -----

// moe.jitter: the same noise (same seed and eps) applied to the gradient.
// CHECK-LABEL: func.func @forward_backward(
// CHECK-SAME: %[[X:arg[0-9]+]]: tensor<4x8xf32> {moe.param = "x"}, %[[SEED:arg[0-9]+]]: i64 {moe.input = "seed"}, %[[WR:arg[0-9]+]]: tensor<4x8xf32> {moe.param = "gate.weight"})
// CHECK-SAME: -> (tensor<f32> {moe.result = "z_loss"}, tensor<4x8xf32> {moe.grad = "x"}, tensor<4x8xf32> {moe.grad = "gate.weight"})
// CHECK: %[[J:.*]] = moe.jitter %[[X]], %[[SEED]] eps = 1.000000e-02
// CHECK: %[[L:.*]] = moe.router %[[J]], %[[WR]]
// CHECK: %[[DL:.*]] = moe.z_loss_grad %{{.*}}, %[[L]]
// CHECK: %[[DJ:.*]] = nn.linear_grad_input %[[DL]], %[[WR]]
// CHECK: %[[DWR:.*]] = nn.linear_grad_weight %[[DL]], %[[J]]
// CHECK: %[[DX:.*]] = moe.jitter %[[DJ]], %[[SEED]] eps = 1.000000e-02 : tensor<4x8xf32>
// CHECK: return %{{.*}}, %[[DX]], %[[DWR]]
func.func @forward(%x: tensor<4x8xf32> {moe.param = "x"}, %seed: i64 {moe.input = "seed"},
                   %wr: tensor<4x8xf32> {moe.param = "gate.weight"})
    -> (tensor<f32> {moe.result = "z_loss"}) {
  %j = moe.jitter %x, %seed eps = 1.0e-2 : tensor<4x8xf32>
  %l = moe.router %j, %wr : tensor<4x8xf32>, tensor<4x8xf32> -> tensor<4x4xf32>
  %z = moe.z_loss %l coeff = 1.0e-3 : tensor<4x4xf32>
  return %z : tensor<f32>
}

// -----

// moe.topk with softmax = pre (Switch, k = 1): the weight gradient goes back
// through the full softmax at the chosen indices.
// CHECK-LABEL: func.func @forward_backward(
// CHECK-SAME: %[[LABELS:arg[0-9]+]]: tensor<4xi32> {moe.input = "labels"}, %[[L:arg[0-9]+]]: tensor<4x4xf32> {moe.param = "logits"})
// CHECK-SAME: -> (tensor<f32> {moe.result = "lm_loss"}, tensor<4x4xf32> {moe.grad = "logits"})
// CHECK: %[[W:.*]], %[[IDX:.*]] = moe.topk %[[L]] k = 1 softmax = pre
// CHECK: %[[DW:.*]] = nn.cross_entropy_grad %{{.*}}, %[[W]], %[[LABELS]]
// CHECK: %[[DL:.*]] = moe.topk_grad %[[DW]], %[[L]], %[[IDX]] softmax = pre : tensor<4x1xf32>, tensor<4x4xf32>, tensor<4x1xi32>
// CHECK: return %{{.*}}, %[[DL]]
func.func @forward(%labels: tensor<4xi32> {moe.input = "labels"}, %l: tensor<4x4xf32> {moe.param = "logits"})
    -> (tensor<f32> {moe.result = "lm_loss"}) {
  %w, %idx = moe.topk %l k = 1 softmax = pre : tensor<4x4xf32> -> tensor<4x1xf32>, tensor<4x1xi32>
  %loss = nn.cross_entropy %w, %labels : tensor<4x1xf32>, tensor<4xi32>
  return %loss : tensor<f32>
}

// -----

// moe.topk with softmax = post (Mixtral, k = 2).
// CHECK-LABEL: func.func @forward_backward(
// CHECK-SAME: %[[LABELS:arg[0-9]+]]: tensor<4xi32> {moe.input = "labels"}, %[[L:arg[0-9]+]]: tensor<4x4xf32> {moe.param = "logits"})
// CHECK-SAME: -> (tensor<f32> {moe.result = "lm_loss"}, tensor<4x4xf32> {moe.grad = "logits"})
// CHECK: %[[W:.*]], %[[IDX:.*]] = moe.topk %[[L]] k = 2 softmax = post
// CHECK: %[[DW:.*]] = nn.cross_entropy_grad %{{.*}}, %[[W]], %[[LABELS]]
// CHECK: %[[DL:.*]] = moe.topk_grad %[[DW]], %[[L]], %[[IDX]] softmax = post : tensor<4x2xf32>, tensor<4x4xf32>, tensor<4x2xi32>
// CHECK: return %{{.*}}, %[[DL]]
func.func @forward(%labels: tensor<4xi32> {moe.input = "labels"}, %l: tensor<4x4xf32> {moe.param = "logits"})
    -> (tensor<f32> {moe.result = "lm_loss"}) {
  %w, %idx = moe.topk %l k = 2 softmax = post : tensor<4x4xf32> -> tensor<4x2xf32>, tensor<4x2xi32>
  %loss = nn.cross_entropy %w, %labels : tensor<4x2xf32>, tensor<4xi32>
  return %loss : tensor<f32>
}

// -----

// moe.sinkhorn: the balanced assignment only selects; the gradient goes
// through the combine weights at the chosen indices.
// CHECK-LABEL: func.func @forward_backward(
// CHECK-SAME: %[[LABELS:arg[0-9]+]]: tensor<4xi32> {moe.input = "labels"}, %[[L:arg[0-9]+]]: tensor<4x4xf32> {moe.param = "logits"})
// CHECK-SAME: -> (tensor<f32> {moe.result = "lm_loss"}, tensor<4x4xf32> {moe.grad = "logits"})
// CHECK: %[[W:.*]], %[[IDX:.*]] = moe.sinkhorn %[[L]] k = 1
// CHECK: %[[DW:.*]] = nn.cross_entropy_grad %{{.*}}, %[[W]], %[[LABELS]]
// CHECK: %[[DL:.*]] = moe.sinkhorn_grad %[[DW]], %[[L]], %[[IDX]] : tensor<4x1xf32>, tensor<4x4xf32>, tensor<4x1xi32>
// CHECK: return %{{.*}}, %[[DL]]
func.func @forward(%labels: tensor<4xi32> {moe.input = "labels"}, %l: tensor<4x4xf32> {moe.param = "logits"})
    -> (tensor<f32> {moe.result = "lm_loss"}) {
  %w, %idx = moe.sinkhorn %l k = 1 : tensor<4x4xf32> -> tensor<4x1xf32>, tensor<4x1xi32>
  %loss = nn.cross_entropy %w, %labels : tensor<4x1xf32>, tensor<4xi32>
  return %loss : tensor<f32>
}

// -----

// moe.expert_choice: the gradient of the kept weights, masked by `keep`.
// CHECK-LABEL: func.func @forward_backward(
// CHECK-SAME: %[[LABELS:arg[0-9]+]]: tensor<4xi32> {moe.input = "labels"}, %[[L:arg[0-9]+]]: tensor<4x4xf32> {moe.param = "logits"})
// CHECK-SAME: -> (tensor<f32> {moe.result = "lm_loss"}, tensor<4x4xf32> {moe.grad = "logits"})
// CHECK: %[[W:.*]], %{{.*}}, %[[KEEP:.*]] = moe.expert_choice %[[L]] capacity_factor = 2.000000e+00
// CHECK: %[[DW:.*]] = nn.cross_entropy_grad %{{.*}}, %[[W]], %[[LABELS]]
// CHECK: %[[DL:.*]] = moe.expert_choice_grad %[[DW]], %[[L]], %[[KEEP]] : tensor<4x4xf32>, tensor<4x4xi1>
// CHECK: return %{{.*}}, %[[DL]]
func.func @forward(%labels: tensor<4xi32> {moe.input = "labels"}, %l: tensor<4x4xf32> {moe.param = "logits"})
    -> (tensor<f32> {moe.result = "lm_loss"}) {
  %w, %idx, %keep = moe.expert_choice %l capacity_factor = 2.0
      : tensor<4x4xf32> -> tensor<4x4xf32>, tensor<4x4xi32>, tensor<4x4xi1>
  %loss = nn.cross_entropy %w, %labels : tensor<4x4xf32>, tensor<4xi32>
  return %loss : tensor<f32>
}

// -----

// moe.aux_loss per sequence: seq_length and coeff carry over; the routing
// weights of moe.topk are unused, so moe.topk gets no backward op (indices
// carry no gradient).
// CHECK-LABEL: func.func @forward_backward(
// CHECK-SAME: %[[X:arg[0-9]+]]: tensor<4x8xf32> {moe.input = "hidden"}, %[[WR:arg[0-9]+]]: tensor<4x8xf32> {moe.param = "gate.weight"})
// CHECK-SAME: -> (tensor<f32> {moe.result = "aux_loss"}, tensor<4x8xf32> {moe.grad = "gate.weight"})
// CHECK: %[[L:.*]] = moe.router %[[X]], %[[WR]]
// CHECK: %{{.*}}, %[[IDX:.*]] = moe.topk %[[L]] k = 2 softmax = post
// CHECK: %[[AUX:.*]] = moe.aux_loss %[[L]], %[[IDX]] coeff = 1.000000e-02 {seq_length = 2 : i64}
// CHECK: %[[SEED:.*]] = arith.constant dense<1.000000e+00> : tensor<f32>
// CHECK-NOT: moe.topk_grad
// CHECK: %[[DL:.*]] = moe.aux_loss_grad %[[SEED]], %[[L]], %[[IDX]] coeff = 1.000000e-02 seq_length = 2 : tensor<4x4xf32>, tensor<4x2xi32>
// CHECK-NOT: moe.topk_grad
// CHECK: %[[DWR:.*]] = nn.linear_grad_weight %[[DL]], %[[X]]
// CHECK-NOT: moe.topk_grad
// CHECK: return %[[AUX]], %[[DWR]]
func.func @forward(%x: tensor<4x8xf32> {moe.input = "hidden"}, %wr: tensor<4x8xf32> {moe.param = "gate.weight"})
    -> (tensor<f32> {moe.result = "aux_loss"}) {
  %l = moe.router %x, %wr : tensor<4x8xf32>, tensor<4x8xf32> -> tensor<4x4xf32>
  %w, %idx = moe.topk %l k = 2 softmax = post : tensor<4x4xf32> -> tensor<4x2xf32>, tensor<4x2xi32>
  %aux = moe.aux_loss %l, %idx coeff = 1.0e-2 {seq_length = 2} : tensor<4x4xf32>, tensor<4x2xi32>
  return %aux : tensor<f32>
}

// -----

// moe.aux_loss per batch: no seq_length on the backward op either.
// CHECK-LABEL: func.func @forward_backward(
// CHECK-SAME: -> (tensor<f32> {moe.result = "aux_loss"}, tensor<4x4xf32> {moe.grad = "logits"})
// CHECK: moe.aux_loss_grad %{{.*}}, %{{.*}}, %{{.*}} coeff = 1.000000e-02 : tensor<4x4xf32>, tensor<4x2xi32>
func.func @forward(%idx: tensor<4x2xi32> {moe.input = "indices"}, %l: tensor<4x4xf32> {moe.param = "logits"})
    -> (tensor<f32> {moe.result = "aux_loss"}) {
  %aux = moe.aux_loss %l, %idx coeff = 1.0e-2 : tensor<4x4xf32>, tensor<4x2xi32>
  return %aux : tensor<f32>
}

// -----

//===----------------------------------------------------------------------===//
// moe ops: dispatch and the experts
//===----------------------------------------------------------------------===//

// moe.permute with a keep-mask and a padded layout (capacity = 3, E = 2): the
// row gradients gather back to the tokens through the row map; the indices
// and the mask get none.
// CHECK-LABEL: func.func @forward_backward(
// CHECK-SAME: %[[X:arg[0-9]+]]: tensor<4x8xf32> {moe.param = "x"}, %[[IDX:arg[0-9]+]]: tensor<4x2xi32> {moe.input = "indices"}, %[[KEEP:arg[0-9]+]]: tensor<4x2xi1> {moe.input = "keep"}, %[[LABELS:arg[0-9]+]]: tensor<6xi32> {moe.input = "labels"})
// CHECK-SAME: -> (tensor<f32> {moe.result = "lm_loss"}, tensor<4x8xf32> {moe.grad = "x"})
// CHECK: %[[ROWS:.*]], %[[MAP:.*]], %{{.*}} = moe.permute %[[X]], %[[IDX]], %[[KEEP]] capacity = 3
// CHECK: %[[DR:.*]] = nn.cross_entropy_grad %{{.*}}, %[[ROWS]], %[[LABELS]]
// CHECK: %[[DX:.*]] = moe.permute_grad %[[DR]], %[[MAP]] : tensor<6x8xf32>, tensor<4x2xi32> -> tensor<4x8xf32>
// CHECK: return %{{.*}}, %[[DX]]
func.func @forward(%x: tensor<4x8xf32> {moe.param = "x"}, %idx: tensor<4x2xi32> {moe.input = "indices"},
                   %keep: tensor<4x2xi1> {moe.input = "keep"}, %labels: tensor<6xi32> {moe.input = "labels"})
    -> (tensor<f32> {moe.result = "lm_loss"}) {
  %rows, %map, %sizes = moe.permute %x, %idx, %keep capacity = 3
      : tensor<4x8xf32>, tensor<4x2xi32>, tensor<4x2xi1> -> tensor<6x8xf32>, tensor<2xi32>
  %loss = nn.cross_entropy %rows, %labels : tensor<6x8xf32>, tensor<6xi32>
  return %loss : tensor<f32>
}

// -----

// moe.unpermute: gradients of the rows and of the combine weights.
// CHECK-LABEL: func.func @forward_backward(
// CHECK-SAME: %[[ROWS:arg[0-9]+]]: tensor<8x8xf32> {moe.param = "rows"}, %[[MAP:arg[0-9]+]]: tensor<4x2xi32> {moe.input = "row_map"}, %[[W:arg[0-9]+]]: tensor<4x2xf32> {moe.param = "weights"}, %[[LABELS:arg[0-9]+]]: tensor<4xi32> {moe.input = "labels"})
// CHECK-SAME: -> (tensor<f32> {moe.result = "lm_loss"}, tensor<8x8xf32> {moe.grad = "rows"}, tensor<4x2xf32> {moe.grad = "weights"})
// CHECK: %[[Y:.*]] = moe.unpermute %[[ROWS]], %[[MAP]], %[[W]]
// CHECK: %[[DY:.*]] = nn.cross_entropy_grad %{{.*}}, %[[Y]], %[[LABELS]]
// CHECK: %[[DR:.*]], %[[DW:.*]] = moe.unpermute_grad %[[DY]], %[[ROWS]], %[[MAP]], %[[W]] : tensor<4x8xf32>, tensor<8x8xf32>, tensor<4x2xi32>, tensor<4x2xf32>
// CHECK: return %{{.*}}, %[[DR]], %[[DW]]
func.func @forward(%rows: tensor<8x8xf32> {moe.param = "rows"}, %map: tensor<4x2xi32> {moe.input = "row_map"},
                   %w: tensor<4x2xf32> {moe.param = "weights"}, %labels: tensor<4xi32> {moe.input = "labels"})
    -> (tensor<f32> {moe.result = "lm_loss"}) {
  %y = moe.unpermute %rows, %map, %w : tensor<8x8xf32>, tensor<4x2xi32>, tensor<4x2xf32> -> tensor<4x8xf32>
  %loss = nn.cross_entropy %y, %labels : tensor<4x8xf32>, tensor<4xi32>
  return %loss : tensor<f32>
}

// -----

// moe.grouped_matmul: the rows' and the stacked expert weight's gradients, per
// group; the group sizes get none.
// CHECK-LABEL: func.func @forward_backward(
// CHECK-SAME: %[[ROWS:arg[0-9]+]]: tensor<8x8xf32> {moe.param = "rows"}, %[[W:arg[0-9]+]]: tensor<2x16x8xf32> {moe.param = "experts.w1.weight"}, %[[SIZES:arg[0-9]+]]: tensor<2xi32> {moe.input = "group_sizes"}, %[[LABELS:arg[0-9]+]]: tensor<8xi32> {moe.input = "labels"})
// CHECK-SAME: -> (tensor<f32> {moe.result = "lm_loss"}, tensor<8x8xf32> {moe.grad = "rows"}, tensor<2x16x8xf32> {moe.grad = "experts.w1.weight"})
// CHECK: %[[H:.*]] = moe.grouped_matmul %[[ROWS]], %[[W]], %[[SIZES]]
// CHECK: %[[DH:.*]] = nn.cross_entropy_grad %{{.*}}, %[[H]], %[[LABELS]]
// CHECK: %[[DR:.*]] = moe.grouped_matmul_grad_input %[[DH]], %[[W]], %[[SIZES]] : tensor<8x16xf32>, tensor<2x16x8xf32>, tensor<2xi32> -> tensor<8x8xf32>
// CHECK: %[[DW:.*]] = moe.grouped_matmul_grad_weight %[[DH]], %[[ROWS]], %[[SIZES]] : tensor<8x16xf32>, tensor<8x8xf32>, tensor<2xi32> -> tensor<2x16x8xf32>
// CHECK: return %{{.*}}, %[[DR]], %[[DW]]
func.func @forward(%rows: tensor<8x8xf32> {moe.param = "rows"}, %w: tensor<2x16x8xf32> {moe.param = "experts.w1.weight"},
                   %sizes: tensor<2xi32> {moe.input = "group_sizes"}, %labels: tensor<8xi32> {moe.input = "labels"})
    -> (tensor<f32> {moe.result = "lm_loss"}) {
  %h = moe.grouped_matmul %rows, %w, %sizes : tensor<8x8xf32>, tensor<2x16x8xf32>, tensor<2xi32> -> tensor<8x16xf32>
  %loss = nn.cross_entropy %h, %labels : tensor<8x16xf32>, tensor<8xi32>
  return %loss : tensor<f32>
}

// -----

// A routed MoE block with both router losses. Three seeds of 1.0, one per
// loss. The aux- and z-loss gradients enter only at the router logits, summed
// with the top-k gradient, and leave through the router's linear gradients;
// the experts' gradients are all built before them, so they cannot depend on
// them.
// CHECK-LABEL: func.func @forward_backward(
// CHECK-SAME: %[[X:arg[0-9]+]]: tensor<4x8xf32> {moe.param = "x"}, %[[LABELS:arg[0-9]+]]: tensor<4xi32> {moe.input = "labels"}, %[[WR:arg[0-9]+]]: tensor<2x8xf32> {moe.param = "gate.weight"}, %[[W1:arg[0-9]+]]: tensor<2x8x8xf32> {moe.param = "experts.w1.weight"})
// CHECK-SAME: -> (tensor<f32> {moe.result = "lm_loss"}, tensor<f32> {moe.result = "aux_loss"}, tensor<f32> {moe.result = "z_loss"}, tensor<4x8xf32> {moe.grad = "x"}, tensor<2x8xf32> {moe.grad = "gate.weight"}, tensor<2x8x8xf32> {moe.grad = "experts.w1.weight"})
// CHECK: %[[L:.*]] = moe.router %[[X]], %[[WR]]
// CHECK: %[[Z:.*]] = moe.z_loss %[[L]]
// CHECK: %[[W:.*]], %[[IDX:.*]] = moe.topk %[[L]] k = 1 softmax = pre
// CHECK: %[[AUX:.*]] = moe.aux_loss %[[L]], %[[IDX]]
// CHECK: %[[ROWS:.*]], %[[MAP:.*]], %[[SIZES:.*]] = moe.permute %[[X]], %[[IDX]]
// CHECK: %[[H:.*]] = moe.grouped_matmul %[[ROWS]], %[[W1]], %[[SIZES]]
// CHECK: %[[Y:.*]] = moe.unpermute %[[H]], %[[MAP]], %[[W]]
// CHECK: %[[LOSS:.*]] = nn.cross_entropy %[[Y]], %[[LABELS]]
// CHECK: %[[S_LM:.*]] = arith.constant dense<1.000000e+00> : tensor<f32>
// CHECK: %[[S_AUX:.*]] = arith.constant dense<1.000000e+00> : tensor<f32>
// CHECK: %[[S_Z:.*]] = arith.constant dense<1.000000e+00> : tensor<f32>
// CHECK: %[[DY:.*]] = nn.cross_entropy_grad %[[S_LM]], %[[Y]], %[[LABELS]]
// CHECK: %[[DH:.*]], %[[DW:.*]] = moe.unpermute_grad %[[DY]], %[[H]], %[[MAP]], %[[W]]
// CHECK: %[[DROWS:.*]] = moe.grouped_matmul_grad_input %[[DH]], %[[W1]], %[[SIZES]]
// CHECK: %[[DW1:.*]] = moe.grouped_matmul_grad_weight %[[DH]], %[[ROWS]], %[[SIZES]]
// CHECK: %[[DXP:.*]] = moe.permute_grad %[[DROWS]], %[[MAP]]
// CHECK: %[[DAUX:.*]] = moe.aux_loss_grad %[[S_AUX]], %[[L]], %[[IDX]]
// CHECK: %[[DTOPK:.*]] = moe.topk_grad %[[DW]], %[[L]], %[[IDX]] softmax = pre
// CHECK: %[[SUM:.*]] = nn.add %[[DAUX]], %[[DTOPK]]
// CHECK: %[[DZ:.*]] = moe.z_loss_grad %[[S_Z]], %[[L]]
// CHECK: %[[DL:.*]] = nn.add %[[SUM]], %[[DZ]]
// CHECK: %[[DXR:.*]] = nn.linear_grad_input %[[DL]], %[[WR]]
// CHECK: %[[DWR:.*]] = nn.linear_grad_weight %[[DL]], %[[X]]
// CHECK: %[[DX:.*]] = nn.add %[[DXP]], %[[DXR]]
// CHECK: return %[[LOSS]], %[[AUX]], %[[Z]], %[[DX]], %[[DWR]], %[[DW1]]
func.func @forward(%x: tensor<4x8xf32> {moe.param = "x"}, %labels: tensor<4xi32> {moe.input = "labels"},
                   %wr: tensor<2x8xf32> {moe.param = "gate.weight"}, %w1: tensor<2x8x8xf32> {moe.param = "experts.w1.weight"})
    -> (tensor<f32> {moe.result = "lm_loss"}, tensor<f32> {moe.result = "aux_loss"}, tensor<f32> {moe.result = "z_loss"}) {
  %l = moe.router %x, %wr : tensor<4x8xf32>, tensor<2x8xf32> -> tensor<4x2xf32>
  %z = moe.z_loss %l coeff = 1.0e-3 : tensor<4x2xf32>
  %w, %idx = moe.topk %l k = 1 softmax = pre : tensor<4x2xf32> -> tensor<4x1xf32>, tensor<4x1xi32>
  %aux = moe.aux_loss %l, %idx coeff = 1.0e-2 : tensor<4x2xf32>, tensor<4x1xi32>
  %rows, %map, %sizes = moe.permute %x, %idx : tensor<4x8xf32>, tensor<4x1xi32> -> tensor<4x8xf32>, tensor<2xi32>
  %h = moe.grouped_matmul %rows, %w1, %sizes : tensor<4x8xf32>, tensor<2x8x8xf32>, tensor<2xi32> -> tensor<4x8xf32>
  %y = moe.unpermute %h, %map, %w : tensor<4x8xf32>, tensor<4x1xi32>, tensor<4x1xf32> -> tensor<4x8xf32>
  %loss = nn.cross_entropy %y, %labels : tensor<4x8xf32>, tensor<4xi32>
  return %loss, %aux, %z : tensor<f32>, tensor<f32>, tensor<f32>
}

// -----

//===----------------------------------------------------------------------===//
// Collectives: each differentiates into its adjoint over the same group
//===----------------------------------------------------------------------===//

// moe.all_to_all_v: the rows travel back, so the send and receive sizes swap
// and the row counts of input and output swap.
// CHECK-LABEL: func.func @forward_backward(
// CHECK-SAME: %[[X:arg[0-9]+]]: tensor<8x8xf32> {moe.param = "rows"}, %[[SEND:arg[0-9]+]]: tensor<2xi32> {moe.input = "send_sizes"}, %[[RECV:arg[0-9]+]]: tensor<2xi32> {moe.input = "recv_sizes"}, %[[LABELS:arg[0-9]+]]: tensor<16xi32> {moe.input = "labels"})
// CHECK-SAME: -> (tensor<f32> {moe.result = "lm_loss"}, tensor<8x8xf32> {moe.grad = "rows"})
// CHECK: %[[Y:.*]] = moe.all_to_all_v %[[X]], %[[SEND]], %[[RECV]] group = ep size = 2
// CHECK: %[[DY:.*]] = nn.cross_entropy_grad %{{.*}}, %[[Y]], %[[LABELS]]
// CHECK: %[[DX:.*]] = moe.all_to_all_v %[[DY]], %[[RECV]], %[[SEND]] group = ep size = 2 : tensor<16x8xf32>, tensor<2xi32>, tensor<2xi32> -> tensor<8x8xf32>
// CHECK: return %{{.*}}, %[[DX]]
func.func @forward(%x: tensor<8x8xf32> {moe.param = "rows"}, %send: tensor<2xi32> {moe.input = "send_sizes"},
                   %recv: tensor<2xi32> {moe.input = "recv_sizes"}, %labels: tensor<16xi32> {moe.input = "labels"})
    -> (tensor<f32> {moe.result = "lm_loss"}) {
  %y = moe.all_to_all_v %x, %send, %recv group = ep size = 2
      : tensor<8x8xf32>, tensor<2xi32>, tensor<2xi32> -> tensor<16x8xf32>
  %loss = nn.cross_entropy %y, %labels : tensor<16x8xf32>, tensor<16xi32>
  return %loss : tensor<f32>
}

// -----

// moe.all_gather differentiates into a reduce-scatter over the same group.
// CHECK-LABEL: func.func @forward_backward(
// CHECK-SAME: %[[X:arg[0-9]+]]: tensor<4x8xf32> {moe.param = "x"}, %[[LABELS:arg[0-9]+]]: tensor<8xi32> {moe.input = "labels"})
// CHECK-SAME: -> (tensor<f32> {moe.result = "lm_loss"}, tensor<4x8xf32> {moe.grad = "x"})
// CHECK: %[[Y:.*]] = moe.all_gather %[[X]] group = edp size = 2
// CHECK: %[[DY:.*]] = nn.cross_entropy_grad %{{.*}}, %[[Y]], %[[LABELS]]
// CHECK: %[[DX:.*]] = moe.reduce_scatter %[[DY]] group = edp size = 2 : tensor<8x8xf32> -> tensor<4x8xf32>
// CHECK: return %{{.*}}, %[[DX]]
func.func @forward(%x: tensor<4x8xf32> {moe.param = "x"}, %labels: tensor<8xi32> {moe.input = "labels"})
    -> (tensor<f32> {moe.result = "lm_loss"}) {
  %y = moe.all_gather %x group = edp size = 2 : tensor<4x8xf32> -> tensor<8x8xf32>
  %loss = nn.cross_entropy %y, %labels : tensor<8x8xf32>, tensor<8xi32>
  return %loss : tensor<f32>
}

// -----

// moe.reduce_scatter differentiates into an all-gather over the same group.
// CHECK-LABEL: func.func @forward_backward(
// CHECK-SAME: %[[X:arg[0-9]+]]: tensor<8x8xf32> {moe.param = "x"}, %[[LABELS:arg[0-9]+]]: tensor<4xi32> {moe.input = "labels"})
// CHECK-SAME: -> (tensor<f32> {moe.result = "lm_loss"}, tensor<8x8xf32> {moe.grad = "x"})
// CHECK: %[[Y:.*]] = moe.reduce_scatter %[[X]] group = dp size = 2
// CHECK: %[[DY:.*]] = nn.cross_entropy_grad %{{.*}}, %[[Y]], %[[LABELS]]
// CHECK: %[[DX:.*]] = moe.all_gather %[[DY]] group = dp size = 2 : tensor<4x8xf32> -> tensor<8x8xf32>
// CHECK: return %{{.*}}, %[[DX]]
func.func @forward(%x: tensor<8x8xf32> {moe.param = "x"}, %labels: tensor<4xi32> {moe.input = "labels"})
    -> (tensor<f32> {moe.result = "lm_loss"}) {
  %y = moe.reduce_scatter %x group = dp size = 2 : tensor<8x8xf32> -> tensor<4x8xf32>
  %loss = nn.cross_entropy %y, %labels : tensor<4x8xf32>, tensor<4xi32>
  return %loss : tensor<f32>
}

// -----

// moe.all_reduce with sum (and mean) is its own adjoint. A group of one is
// kept as it is: moe-autodiff does not fold (only -canonicalize does).
// CHECK-LABEL: func.func @forward_backward(
// CHECK-SAME: %[[X:arg[0-9]+]]: tensor<4x8xf32> {moe.param = "x"}, %[[LABELS:arg[0-9]+]]: tensor<4xi32> {moe.input = "labels"})
// CHECK-SAME: -> (tensor<f32> {moe.result = "lm_loss"}, tensor<4x8xf32> {moe.grad = "x"})
// CHECK: %[[A:.*]] = moe.all_reduce %[[X]] group = world size = 2 reduction = sum
// CHECK: %[[B:.*]] = moe.all_reduce %[[A]] group = edp size = 2 reduction = mean
// CHECK: %[[C:.*]] = moe.all_reduce %[[B]] group = dp size = 1 reduction = sum
// CHECK: %[[DC:.*]] = nn.cross_entropy_grad %{{.*}}, %[[C]], %[[LABELS]]
// CHECK: %[[DB:.*]] = moe.all_reduce %[[DC]] group = dp size = 1 reduction = sum : tensor<4x8xf32>
// CHECK: %[[DA:.*]] = moe.all_reduce %[[DB]] group = edp size = 2 reduction = mean : tensor<4x8xf32>
// CHECK: %[[DX:.*]] = moe.all_reduce %[[DA]] group = world size = 2 reduction = sum : tensor<4x8xf32>
// CHECK: return %{{.*}}, %[[DX]]
func.func @forward(%x: tensor<4x8xf32> {moe.param = "x"}, %labels: tensor<4xi32> {moe.input = "labels"})
    -> (tensor<f32> {moe.result = "lm_loss"}) {
  %a = moe.all_reduce %x group = world size = 2 reduction = sum : tensor<4x8xf32>
  %b = moe.all_reduce %a group = edp size = 2 reduction = mean : tensor<4x8xf32>
  %c = moe.all_reduce %b group = dp size = 1 reduction = sum : tensor<4x8xf32>
  %loss = nn.cross_entropy %c, %labels : tensor<4x8xf32>, tensor<4xi32>
  return %loss : tensor<f32>
}

// -----

// Ops that no gradient reaches need no VJP and are left alone: a max
// all-reduce of a value that does not reach the loss, and moe.capacity,
// whose results are integers and masks.
// CHECK-LABEL: func.func @forward_backward(
// CHECK-SAME: -> (tensor<f32> {moe.result = "lm_loss"}, tensor<4x8xf32> {moe.grad = "x"}, tensor<4x2xf32> {moe.grad = "weights"})
// CHECK: moe.capacity
// CHECK: moe.all_reduce %{{.*}} group = world size = 2 reduction = max : tensor<4x8xf32>
// CHECK: moe.permute
// CHECK: moe.permute_grad
// CHECK-NOT: moe.all_reduce
// CHECK: return
func.func @forward(%x: tensor<4x8xf32> {moe.param = "x"}, %w: tensor<4x2xf32> {moe.param = "weights"},
                   %idx: tensor<4x2xi32> {moe.input = "indices"}, %labels: tensor<8xi32> {moe.input = "labels"})
    -> (tensor<f32> {moe.result = "lm_loss"}) {
  %keep, %counts = moe.capacity %w, %idx capacity_factor = 1.0 policy = probs
      : tensor<4x2xf32>, tensor<4x2xi32> -> tensor<4x2xi1>, tensor<2xi32>
  %m = moe.all_reduce %x group = world size = 2 reduction = max : tensor<4x8xf32>
  %rows, %map, %sizes = moe.permute %x, %idx, %keep
      : tensor<4x8xf32>, tensor<4x2xi32>, tensor<4x2xi1> -> tensor<8x8xf32>, tensor<2xi32>
  %loss = nn.cross_entropy %rows, %labels : tensor<8x8xf32>, tensor<8xi32>
  return %loss : tensor<f32>
}
