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
