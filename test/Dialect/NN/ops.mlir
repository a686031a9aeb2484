// RUN: moe-opt %s | FileCheck %s
// RUN: moe-opt %s --mlir-print-op-generic | moe-opt | FileCheck %s

// One dense decoder layer and the loss, as the graph builder emits them.
// CHECK-LABEL: func.func @decoder_layer
func.func @decoder_layer(%ids: tensor<16xi32>, %labels: tensor<16xi32>, %mask: tensor<16xf32>,
                         %emb: tensor<256x64xf32>, %g: tensor<64xf32>, %wq: tensor<64x64xf32>,
                         %wk: tensor<32x64xf32>, %wv: tensor<32x64xf32>, %wo: tensor<64x64xf32>,
                         %w1: tensor<128x64xf32>, %w3: tensor<128x64xf32>, %w2: tensor<64x128xf32>,
                         %head: tensor<256x64xf32>) -> (tensor<f32>, tensor<f32>) {
  // CHECK: %[[H:.*]] = nn.embedding %{{.*}}, %{{.*}} : tensor<16xi32>, tensor<256x64xf32> -> tensor<16x64xf32>
  %h = nn.embedding %ids, %emb : tensor<16xi32>, tensor<256x64xf32> -> tensor<16x64xf32>
  // CHECK: %[[N:.*]] = nn.rmsnorm %[[H]], %{{.*}} eps = 9.9999999999999995E-7 : tensor<16x64xf32>, tensor<64xf32>
  %n = nn.rmsnorm %h, %g eps = 1.0e-6 : tensor<16x64xf32>, tensor<64xf32>
  // CHECK: nn.linear %[[N]], %{{.*}} : tensor<16x64xf32>, tensor<64x64xf32> -> tensor<16x64xf32>
  %q = nn.linear %n, %wq : tensor<16x64xf32>, tensor<64x64xf32> -> tensor<16x64xf32>
  %k = nn.linear %n, %wk : tensor<16x64xf32>, tensor<32x64xf32> -> tensor<16x32xf32>
  %v = nn.linear %n, %wv : tensor<16x64xf32>, tensor<32x64xf32> -> tensor<16x32xf32>
  // CHECK: nn.rope %{{.*}} head_dim = 16 seq_length = 8 theta = 1.000000e+06 : tensor<16x64xf32>
  %qr = nn.rope %q head_dim = 16 seq_length = 8 theta = 1.0e6 : tensor<16x64xf32>
  %kr = nn.rope %k head_dim = 16 seq_length = 8 theta = 1.0e6 : tensor<16x32xf32>
  // CHECK: nn.attention %{{.*}}, %{{.*}}, %{{.*}} num_heads = 4 num_kv_heads = 2 seq_length = 8 : tensor<16x64xf32>, tensor<16x32xf32>
  %a = nn.attention %qr, %kr, %v num_heads = 4 num_kv_heads = 2 seq_length = 8 : tensor<16x64xf32>, tensor<16x32xf32>
  %o = nn.linear %a, %wo : tensor<16x64xf32>, tensor<64x64xf32> -> tensor<16x64xf32>
  // CHECK: %[[R:.*]] = nn.add %[[H]], %{{.*}} : tensor<16x64xf32>
  %r = nn.add %h, %o : tensor<16x64xf32>
  %gate = nn.linear %r, %w1 : tensor<16x64xf32>, tensor<128x64xf32> -> tensor<16x128xf32>
  %up = nn.linear %r, %w3 : tensor<16x64xf32>, tensor<128x64xf32> -> tensor<16x128xf32>
  // CHECK: nn.swiglu %{{.*}}, %{{.*}} : tensor<16x128xf32>
  %act = nn.swiglu %gate, %up : tensor<16x128xf32>
  %down = nn.linear %act, %w2 : tensor<16x128xf32>, tensor<64x128xf32> -> tensor<16x64xf32>
  %r2 = nn.add %r, %down : tensor<16x64xf32>
  %logits = nn.linear %r2, %head : tensor<16x64xf32>, tensor<256x64xf32> -> tensor<16x256xf32>
  // CHECK: nn.cross_entropy %{{.*}}, %{{.*}} : tensor<16x256xf32>, tensor<16xi32>
  %loss = nn.cross_entropy %logits, %labels : tensor<16x256xf32>, tensor<16xi32>
  // CHECK: nn.cross_entropy %{{.*}}, %{{.*}}, %{{.*}} : tensor<16x256xf32>, tensor<16xi32>, tensor<16xf32>
  %masked = nn.cross_entropy %logits, %labels, %mask : tensor<16x256xf32>, tensor<16xi32>, tensor<16xf32>
  return %loss, %masked : tensor<f32>, tensor<f32>
}

// CHECK-LABEL: func.func @gpt_pieces
func.func @gpt_pieces(%x: tensor<16x64xbf16>, %g: tensor<64xbf16>, %b: tensor<64xbf16>,
                      %w: tensor<256x64xbf16>, %bias: tensor<256xbf16>) -> tensor<16x256xbf16> {
  // CHECK: nn.layernorm %{{.*}}, %{{.*}}, %{{.*}} eps = 1.000000e-05 : tensor<16x64xbf16>, tensor<64xbf16>
  %n = nn.layernorm %x, %g, %b eps = 1.0e-5 : tensor<16x64xbf16>, tensor<64xbf16>
  // CHECK: nn.linear %{{.*}}, %{{.*}}, %{{.*}} : tensor<16x64xbf16>, tensor<256x64xbf16>, tensor<256xbf16> -> tensor<16x256xbf16>
  %h = nn.linear %n, %w, %bias : tensor<16x64xbf16>, tensor<256x64xbf16>, tensor<256xbf16> -> tensor<16x256xbf16>
  // CHECK: nn.gelu %{{.*}} approximate = tanh : tensor<16x256xbf16>
  %a = nn.gelu %h approximate = tanh : tensor<16x256xbf16>
  // CHECK: nn.gelu %{{.*}} approximate = none : tensor<16x256xbf16>
  %e = nn.gelu %a approximate = none : tensor<16x256xbf16>
  return %e : tensor<16x256xbf16>
}

// CHECK-LABEL: func.func @shared_expert_gate
func.func @shared_expert_gate(%x: tensor<16x64xf32>, %wg: tensor<1x64xf32>) -> tensor<16x64xf32> {
  %g = nn.linear %x, %wg : tensor<16x64xf32>, tensor<1x64xf32> -> tensor<16x1xf32>
  // CHECK: nn.sigmoid_gate %{{.*}}, %{{.*}} : tensor<16x64xf32>, tensor<16x1xf32>
  %y = nn.sigmoid_gate %x, %g : tensor<16x64xf32>, tensor<16x1xf32>
  return %y : tensor<16x64xf32>
}

// CHECK-LABEL: func.func @optimizer
func.func @optimizer(%p: tensor<64x64xf32>, %g: tensor<64x64xf32>, %m: tensor<64x64xf32>,
                     %v: tensor<64x64xf32>, %lr: tensor<f32>, %step: tensor<i64>)
    -> (tensor<64x64xf32>, tensor<64x64xf32>, tensor<64x64xf32>) {
  // CHECK: nn.adamw %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} beta1 = 9.000000e-01 beta2 = 0.99899999999999999 eps = 1.000000e-08 weight_decay = 1.000000e-01 : tensor<64x64xf32>
  %p2, %m2, %v2 = nn.adamw %p, %g, %m, %v, %lr, %step beta1 = 0.9 beta2 = 0.999 eps = 1.0e-8
      weight_decay = 0.1 : tensor<64x64xf32>
  return %p2, %m2, %v2 : tensor<64x64xf32>, tensor<64x64xf32>, tensor<64x64xf32>
}

// The backward ops moe-autodiff builds, one per forward op.
// CHECK-LABEL: func.func @backward_ops
func.func @backward_ops(%ids: tensor<16xi32>, %labels: tensor<16xi32>, %mask: tensor<16xf32>,
                        %dy: tensor<16x64xf32>, %x: tensor<16x64xf32>, %w: tensor<256x64xf32>,
                        %dlogits: tensor<16x256xf32>, %g: tensor<64xf32>, %kv: tensor<16x32xf32>,
                        %h: tensor<16x128xf32>, %gate: tensor<16x1xf32>, %dloss: tensor<f32>) {
  // CHECK: nn.embedding_grad %{{.*}}, %{{.*}} : tensor<16xi32>, tensor<16x64xf32> -> tensor<256x64xf32>
  %0 = nn.embedding_grad %ids, %dy : tensor<16xi32>, tensor<16x64xf32> -> tensor<256x64xf32>
  // CHECK: nn.linear_grad_input %{{.*}}, %{{.*}} : tensor<16x256xf32>, tensor<256x64xf32> -> tensor<16x64xf32>
  %1 = nn.linear_grad_input %dlogits, %w : tensor<16x256xf32>, tensor<256x64xf32> -> tensor<16x64xf32>
  // CHECK: nn.linear_grad_weight %{{.*}}, %{{.*}} : tensor<16x256xf32>, tensor<16x64xf32> -> tensor<256x64xf32>
  %2 = nn.linear_grad_weight %dlogits, %x : tensor<16x256xf32>, tensor<16x64xf32> -> tensor<256x64xf32>
  // Adding into a gradient accumulator.
  // CHECK: nn.embedding_grad %{{.*}}, %{{.*}} accumulate %{{.*}} : tensor<16xi32>, tensor<16x64xf32> -> tensor<256x64xf32>
  %acc0 = nn.embedding_grad %ids, %dy accumulate %w : tensor<16xi32>, tensor<16x64xf32> -> tensor<256x64xf32>
  // CHECK: nn.linear_grad_weight %{{.*}}, %{{.*}} accumulate %{{.*}} : tensor<16x256xf32>, tensor<16x64xf32> -> tensor<256x64xf32>
  %acc2 = nn.linear_grad_weight %dlogits, %x accumulate %w : tensor<16x256xf32>, tensor<16x64xf32> -> tensor<256x64xf32>
  // CHECK: nn.bias_grad %{{.*}} : tensor<16x256xf32> -> tensor<256xf32>
  %3 = nn.bias_grad %dlogits : tensor<16x256xf32> -> tensor<256xf32>
  // CHECK: %{{.*}}, %{{.*}} = nn.rmsnorm_grad %{{.*}}, %{{.*}}, %{{.*}} eps = 1.000000e-05 : tensor<16x64xf32>, tensor<64xf32>
  %4:2 = nn.rmsnorm_grad %dy, %x, %g eps = 1.0e-5 : tensor<16x64xf32>, tensor<64xf32>
  // CHECK: %{{.*}}, %{{.*}}, %{{.*}} = nn.layernorm_grad %{{.*}}, %{{.*}}, %{{.*}} eps = 1.000000e-05 : tensor<16x64xf32>, tensor<64xf32>
  %5:3 = nn.layernorm_grad %dy, %x, %g eps = 1.0e-5 : tensor<16x64xf32>, tensor<64xf32>
  // CHECK: nn.rope_grad %{{.*}} head_dim = 16 seq_length = 8 theta = 1.000000e+04 : tensor<16x64xf32>
  %6 = nn.rope_grad %dy head_dim = 16 seq_length = 8 theta = 1.0e4 : tensor<16x64xf32>
  // CHECK: %{{.*}}, %{{.*}}, %{{.*}} = nn.attention_grad %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} num_heads = 4 num_kv_heads = 2 seq_length = 8 : tensor<16x64xf32>, tensor<16x32xf32>
  %7:3 = nn.attention_grad %dy, %x, %kv, %kv num_heads = 4 num_kv_heads = 2 seq_length = 8 : tensor<16x64xf32>, tensor<16x32xf32>
  // CHECK: %{{.*}}, %{{.*}} = nn.swiglu_grad %{{.*}}, %{{.*}}, %{{.*}} : tensor<16x128xf32>
  %8:2 = nn.swiglu_grad %h, %h, %h : tensor<16x128xf32>
  // CHECK: nn.gelu_grad %{{.*}}, %{{.*}} approximate = none : tensor<16x128xf32>
  %9 = nn.gelu_grad %h, %h approximate = none : tensor<16x128xf32>
  // CHECK: %{{.*}}, %{{.*}} = nn.sigmoid_gate_grad %{{.*}}, %{{.*}}, %{{.*}} : tensor<16x64xf32>, tensor<16x1xf32>
  %10:2 = nn.sigmoid_gate_grad %dy, %x, %gate : tensor<16x64xf32>, tensor<16x1xf32>
  // CHECK: nn.cross_entropy_grad %{{.*}}, %{{.*}}, %{{.*}} : tensor<16x256xf32>, tensor<16xi32>
  %11 = nn.cross_entropy_grad %dloss, %dlogits, %labels : tensor<16x256xf32>, tensor<16xi32>
  // CHECK: nn.cross_entropy_grad %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : tensor<16x256xf32>, tensor<16xi32>, tensor<16xf32>
  %12 = nn.cross_entropy_grad %dloss, %dlogits, %labels, %mask : tensor<16x256xf32>, tensor<16xi32>, tensor<16xf32>
  return
}

// The bf16 variants keep their element types.
// CHECK-LABEL: func.func @backward_bf16
func.func @backward_bf16(%dy: tensor<16x256xf32>, %w: tensor<256x64xbf16>, %x: tensor<16x64xbf16>) {
  // CHECK: nn.linear_grad_input %{{.*}}, %{{.*}} : tensor<16x256xf32>, tensor<256x64xbf16> -> tensor<16x64xbf16>
  %0 = nn.linear_grad_input %dy, %w : tensor<16x256xf32>, tensor<256x64xbf16> -> tensor<16x64xbf16>
  // CHECK: nn.linear_grad_weight %{{.*}}, %{{.*}} : tensor<16x256xf32>, tensor<16x64xbf16> -> tensor<256x64xbf16>
  %1 = nn.linear_grad_weight %dy, %x : tensor<16x256xf32>, tensor<16x64xbf16> -> tensor<256x64xbf16>
  // CHECK: nn.gelu_grad %{{.*}}, %{{.*}} approximate = tanh : tensor<16x64xbf16>
  %2 = nn.gelu_grad %x, %x approximate = tanh : tensor<16x64xbf16>
  return
}

// The optimizer step: the schedule in each style, global-norm clipping, and
// AdamW with and without the clipping factor.
// CHECK-LABEL: func.func @optimizer_step
func.func @optimizer_step(%step: tensor<i64>, %p: tensor<64x64xf32>, %g: tensor<64x64xf32>,
                          %m: tensor<64x64xf32>, %v: tensor<64x64xf32>, %b: tensor<64xf32>)
    -> (tensor<f32>, tensor<f32>, tensor<f32>, tensor<f32>, tensor<64x64xf32>, tensor<64x64xf32>) {
  // CHECK: %[[LR:.*]] = nn.lr_schedule %{{.*}} lr = 3.000000e-03 min_lr = 3.000000e-04 warmup_iters = 20 decay_iters = 300 style = cosine
  %lr = nn.lr_schedule %step lr = 3.0e-3 min_lr = 3.0e-4 warmup_iters = 20 decay_iters = 300 style = cosine
  // CHECK: nn.lr_schedule %{{.*}} lr = 1.000000e-03 min_lr = 0.000000e+00 warmup_iters = 0 decay_iters = 10 style = linear
  %lin = nn.lr_schedule %step lr = 1.0e-3 min_lr = 0.0 warmup_iters = 0 decay_iters = 10 style = linear
  // A constant rate needs no decay length past the warmup, or none at all.
  // CHECK: nn.lr_schedule %{{.*}} lr = 1.000000e-03 min_lr = 1.000000e-03 warmup_iters = 5 decay_iters = 1 style = constant
  %const = nn.lr_schedule %step lr = 1.0e-3 min_lr = 1.0e-3 warmup_iters = 5 decay_iters = 1 style = constant
  // CHECK: nn.lr_schedule %{{.*}} lr = 1.000000e-03 min_lr = 1.000000e-03 warmup_iters = 5 style = constant
  %flat = nn.lr_schedule %step lr = 1.0e-3 min_lr = 1.0e-3 warmup_iters = 5 style = constant
  // A decay over the training run, whose length is an operand.
  // CHECK: nn.lr_schedule %[[STEP:.*]] train_iters %[[STEP]] lr = 3.000000e-03 min_lr = 3.000000e-04 warmup_iters = 20 style = cosine
  %run = nn.lr_schedule %step train_iters %step lr = 3.0e-3 min_lr = 3.0e-4 warmup_iters = 20 style = cosine
  // CHECK: %[[NORM:.*]], %[[FACTOR:.*]] = nn.clip_grad_norm %{{.*}}, %{{.*}} max_norm = 1.000000e+00 scale = 2.500000e-01 : tensor<64x64xf32>, tensor<64xf32>
  %norm, %factor = nn.clip_grad_norm %g, %b max_norm = 1.0 scale = 0.25 : tensor<64x64xf32>, tensor<64xf32>
  // max_norm = 0 (no clipping) and scale = 1 (one micro-batch) are the bounds.
  // CHECK: nn.clip_grad_norm %{{.*}} max_norm = 0.000000e+00 scale = 1.000000e+00 : tensor<64xf32>
  %n2, %f2 = nn.clip_grad_norm %b max_norm = 0.0 scale = 1.0 : tensor<64xf32>
  // The norm of gradients that the ranks of an ep group hold apart.
  // CHECK: %[[SQ:.*]] = nn.square_norm %{{.*}}, %{{.*}} : tensor<64x64xf32>, tensor<64xf32>
  %sq = nn.square_norm %g, %b : tensor<64x64xf32>, tensor<64xf32>
  // CHECK: nn.clip_factor %[[SQ]] max_norm = 1.000000e+00 scale = 1.250000e-01
  %n3, %f3 = nn.clip_factor %sq max_norm = 1.0 scale = 0.125
  // CHECK: nn.adamw %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[LR]], %{{.*}} grad_scale %[[FACTOR]] beta1 = 9.000000e-01 beta2 = 0.94999999999999996 eps = 1.000000e-08 weight_decay = 1.000000e-01 : tensor<64x64xf32>
  %p2, %m2, %v2 = nn.adamw %p, %g, %m, %v, %lr, %step grad_scale %factor beta1 = 0.9 beta2 = 0.95 eps = 1.0e-8
      weight_decay = 0.1 : tensor<64x64xf32>
  return %lr, %lin, %const, %norm, %p2, %m2 : tensor<f32>, tensor<f32>, tensor<f32>, tensor<f32>, tensor<64x64xf32>, tensor<64x64xf32>
}
