// RUN: moe-opt %s -split-input-file -verify-diagnostics

func.func @embedding_ids_rank(%ids: tensor<8x2xi32>, %t: tensor<256x64xf32>) {
  // expected-error @+1 {{'nn.embedding' op expects ids of rank 1, got rank 2}}
  %h = nn.embedding %ids, %t : tensor<8x2xi32>, tensor<256x64xf32> -> tensor<16x64xf32>
  return
}

// -----

func.func @embedding_table_rank(%ids: tensor<16xi32>, %t: tensor<256xf32>) {
  // expected-error @+1 {{'nn.embedding' op expects table of rank 2, got rank 1}}
  %h = nn.embedding %ids, %t : tensor<16xi32>, tensor<256xf32> -> tensor<16x64xf32>
  return
}

// -----

func.func @embedding_output(%ids: tensor<16xi32>, %t: tensor<256x64xf32>) {
  // expected-error @+1 {{'nn.embedding' op expects output of shape [16, 64], got [16, 32]}}
  %h = nn.embedding %ids, %t : tensor<16xi32>, tensor<256x64xf32> -> tensor<16x32xf32>
  return
}

// -----

func.func @embedding_float_ids(%ids: tensor<16xf32>, %t: tensor<256x64xf32>) {
  // expected-error @+1 {{operand #0 must be statically shaped tensor of 32-bit signless integer values}}
  %h = nn.embedding %ids, %t : tensor<16xf32>, tensor<256x64xf32> -> tensor<16x64xf32>
  return
}

// -----

func.func @linear_input_rank(%x: tensor<64xf32>, %w: tensor<32x64xf32>) {
  // expected-error @+1 {{'nn.linear' op expects input of rank 2, got rank 1}}
  %y = nn.linear %x, %w : tensor<64xf32>, tensor<32x64xf32> -> tensor<1x32xf32>
  return
}

// -----

func.func @linear_weight_rank(%x: tensor<16x64xf32>, %w: tensor<2x32x64xf32>) {
  // expected-error @+1 {{'nn.linear' op expects weight of rank 2, got rank 3}}
  %y = nn.linear %x, %w : tensor<16x64xf32>, tensor<2x32x64xf32> -> tensor<16x32xf32>
  return
}

// -----

func.func @linear_in_features(%x: tensor<16x64xf32>, %w: tensor<64x32xf32>) {
  // expected-error @+1 {{'nn.linear' op weight in-features (32) does not match input width (64)}}
  %y = nn.linear %x, %w : tensor<16x64xf32>, tensor<64x32xf32> -> tensor<16x64xf32>
  return
}

// -----

func.func @linear_bias(%x: tensor<16x64xf32>, %w: tensor<32x64xf32>, %b: tensor<64xf32>) {
  // expected-error @+1 {{'nn.linear' op expects bias of shape [32], got [64]}}
  %y = nn.linear %x, %w, %b : tensor<16x64xf32>, tensor<32x64xf32>, tensor<64xf32> -> tensor<16x32xf32>
  return
}

// -----

func.func @linear_output(%x: tensor<16x64xf32>, %w: tensor<32x64xf32>) {
  // expected-error @+1 {{'nn.linear' op expects output of shape [16, 32], got [16, 64]}}
  %y = nn.linear %x, %w : tensor<16x64xf32>, tensor<32x64xf32> -> tensor<16x64xf32>
  return
}

// -----

func.func @rmsnorm_rank(%x: tensor<2x8x64xf32>, %g: tensor<64xf32>) {
  // expected-error @+1 {{'nn.rmsnorm' op expects input of rank 2, got rank 3}}
  %y = nn.rmsnorm %x, %g eps = 1.0e-5 : tensor<2x8x64xf32>, tensor<64xf32>
  return
}

// -----

func.func @rmsnorm_weight(%x: tensor<16x64xf32>, %g: tensor<32xf32>) {
  // expected-error @+1 {{'nn.rmsnorm' op expects weight of shape [64], got [32]}}
  %y = nn.rmsnorm %x, %g eps = 1.0e-5 : tensor<16x64xf32>, tensor<32xf32>
  return
}

// -----

func.func @rmsnorm_eps(%x: tensor<16x64xf32>, %g: tensor<64xf32>) {
  // expected-error @+1 {{'nn.rmsnorm' op eps must be positive, got 0}}
  %y = nn.rmsnorm %x, %g eps = 0.0 : tensor<16x64xf32>, tensor<64xf32>
  return
}

// -----

func.func @layernorm_eps(%x: tensor<16x64xf32>, %g: tensor<64xf32>, %b: tensor<64xf32>) {
  // expected-error @+1 {{'nn.layernorm' op eps must be positive, got -1e-05}}
  %y = nn.layernorm %x, %g, %b eps = -1.0e-5 : tensor<16x64xf32>, tensor<64xf32>
  return
}

// -----

func.func @rope_rank(%x: tensor<64xf32>) {
  // expected-error @+1 {{'nn.rope' op expects input of rank 2, got rank 1}}
  %y = nn.rope %x head_dim = 16 seq_length = 8 theta = 1.0e4 : tensor<64xf32>
  return
}

// -----

func.func @rope_head_dim_zero(%x: tensor<16x64xf32>) {
  // expected-error @+1 {{'nn.rope' op head_dim must be at least 2, got 0}}
  %y = nn.rope %x head_dim = 0 seq_length = 8 theta = 1.0e4 : tensor<16x64xf32>
  return
}

// -----

func.func @rope_head_dim_odd(%x: tensor<16x60xf32>) {
  // expected-error @+1 {{'nn.rope' op head_dim must be even, got 15}}
  %y = nn.rope %x head_dim = 15 seq_length = 8 theta = 1.0e4 : tensor<16x60xf32>
  return
}

// -----

func.func @rope_head_dim_divides(%x: tensor<16x40xf32>) {
  // expected-error @+1 {{'nn.rope' op head_dim (16) does not divide the input width (40)}}
  %y = nn.rope %x head_dim = 16 seq_length = 8 theta = 1.0e4 : tensor<16x40xf32>
  return
}

// -----

func.func @rope_seq_length(%x: tensor<16x64xf32>) {
  // expected-error @+1 {{'nn.rope' op seq_length (6) does not divide the token count (16)}}
  %y = nn.rope %x head_dim = 16 seq_length = 6 theta = 1.0e4 : tensor<16x64xf32>
  return
}

// -----

func.func @rope_theta(%x: tensor<16x64xf32>) {
  // expected-error @+1 {{'nn.rope' op theta must be positive, got 0}}
  %y = nn.rope %x head_dim = 16 seq_length = 8 theta = 0.0 : tensor<16x64xf32>
  return
}

// -----

func.func @attention_query_rank(%q: tensor<1024xf32>, %k: tensor<16x32xf32>) {
  // expected-error @+1 {{'nn.attention' op expects query of rank 2, got rank 1}}
  %o = nn.attention %q, %k, %k num_heads = 4 num_kv_heads = 2 seq_length = 8 : tensor<1024xf32>, tensor<16x32xf32>
  return
}

// -----

func.func @attention_key_rank(%q: tensor<16x64xf32>, %k: tensor<512xf32>) {
  // expected-error @+1 {{'nn.attention' op expects key of rank 2, got rank 1}}
  %o = nn.attention %q, %k, %k num_heads = 4 num_kv_heads = 2 seq_length = 8 : tensor<16x64xf32>, tensor<512xf32>
  return
}

// -----

func.func @attention_heads_divide(%q: tensor<16x100xf32>, %k: tensor<16x32xf32>) {
  // expected-error @+1 {{'nn.attention' op num_heads (8) does not divide the query width (100)}}
  %o = nn.attention %q, %k, %k num_heads = 8 num_kv_heads = 2 seq_length = 8 : tensor<16x100xf32>, tensor<16x32xf32>
  return
}

// -----

func.func @attention_no_heads(%q: tensor<16x64xf32>, %k: tensor<16x32xf32>) {
  // expected-error @+1 {{'nn.attention' op num_heads must be at least 1, got 0}}
  %o = nn.attention %q, %k, %k num_heads = 0 num_kv_heads = 2 seq_length = 8 : tensor<16x64xf32>, tensor<16x32xf32>
  return
}

// -----

func.func @attention_no_kv_heads(%q: tensor<16x64xf32>, %k: tensor<16x32xf32>) {
  // expected-error @+1 {{'nn.attention' op num_kv_heads must be at least 1, got 0}}
  %o = nn.attention %q, %k, %k num_heads = 4 num_kv_heads = 0 seq_length = 8 : tensor<16x64xf32>, tensor<16x32xf32>
  return
}

// -----

func.func @attention_gqa_groups(%q: tensor<16x64xf32>, %k: tensor<16x48xf32>) {
  // expected-error @+1 {{'nn.attention' op num_kv_heads (3) does not divide num_heads (4)}}
  %o = nn.attention %q, %k, %k num_heads = 4 num_kv_heads = 3 seq_length = 8 : tensor<16x64xf32>, tensor<16x48xf32>
  return
}

// -----

func.func @attention_key_shape(%q: tensor<16x64xf32>, %k: tensor<16x64xf32>) {
  // expected-error @+1 {{'nn.attention' op expects key of shape [16, 32], got [16, 64]}}
  %o = nn.attention %q, %k, %k num_heads = 4 num_kv_heads = 2 seq_length = 8 : tensor<16x64xf32>, tensor<16x64xf32>
  return
}

// -----

func.func @attention_seq_length(%q: tensor<16x64xf32>, %k: tensor<16x32xf32>) {
  // expected-error @+1 {{'nn.attention' op seq_length (32) does not divide the token count (16)}}
  %o = nn.attention %q, %k, %k num_heads = 4 num_kv_heads = 2 seq_length = 32 : tensor<16x64xf32>, tensor<16x32xf32>
  return
}

// -----

func.func @sigmoid_gate_rank(%x: tensor<1024xf32>, %g: tensor<16x1xf32>) {
  // expected-error @+1 {{'nn.sigmoid_gate' op expects input of rank 2, got rank 1}}
  %y = nn.sigmoid_gate %x, %g : tensor<1024xf32>, tensor<16x1xf32>
  return
}

// -----

func.func @sigmoid_gate_shape(%x: tensor<16x64xf32>, %g: tensor<16x64xf32>) {
  // expected-error @+1 {{'nn.sigmoid_gate' op expects gate of shape [16, 1], got [16, 64]}}
  %y = nn.sigmoid_gate %x, %g : tensor<16x64xf32>, tensor<16x64xf32>
  return
}

// -----

func.func @cross_entropy_rank(%l: tensor<4096xf32>, %y: tensor<16xi32>) {
  // expected-error @+1 {{'nn.cross_entropy' op expects logits of rank 2, got rank 1}}
  %loss = nn.cross_entropy %l, %y : tensor<4096xf32>, tensor<16xi32>
  return
}

// -----

func.func @cross_entropy_labels(%l: tensor<16x256xf32>, %y: tensor<8xi32>) {
  // expected-error @+1 {{'nn.cross_entropy' op expects labels of shape [16], got [8]}}
  %loss = nn.cross_entropy %l, %y : tensor<16x256xf32>, tensor<8xi32>
  return
}

// -----

func.func @cross_entropy_mask(%l: tensor<16x256xf32>, %y: tensor<16xi32>, %m: tensor<8xf32>) {
  // expected-error @+1 {{'nn.cross_entropy' op expects loss_mask of shape [16], got [8]}}
  %loss = nn.cross_entropy %l, %y, %m : tensor<16x256xf32>, tensor<16xi32>, tensor<8xf32>
  return
}

// -----

func.func @adamw_beta1(%p: tensor<8xf32>, %lr: tensor<f32>, %n: tensor<i64>) {
  // expected-error @+1 {{'nn.adamw' op beta1 must be in [0, 1), got 1}}
  %a, %b, %c = nn.adamw %p, %p, %p, %p, %lr, %n beta1 = 1.0 beta2 = 0.95 eps = 1.0e-8 weight_decay = 0.0 : tensor<8xf32>
  return
}

// -----

func.func @adamw_beta2(%p: tensor<8xf32>, %lr: tensor<f32>, %n: tensor<i64>) {
  // expected-error @+1 {{'nn.adamw' op beta2 must be in [0, 1), got -0.5}}
  %a, %b, %c = nn.adamw %p, %p, %p, %p, %lr, %n beta1 = 0.9 beta2 = -0.5 eps = 1.0e-8 weight_decay = 0.0 : tensor<8xf32>
  return
}

// -----

func.func @adamw_eps(%p: tensor<8xf32>, %lr: tensor<f32>, %n: tensor<i64>) {
  // expected-error @+1 {{'nn.adamw' op eps must be positive, got 0}}
  %a, %b, %c = nn.adamw %p, %p, %p, %p, %lr, %n beta1 = 0.9 beta2 = 0.95 eps = 0.0 weight_decay = 0.0 : tensor<8xf32>
  return
}

// -----

func.func @adamw_weight_decay(%p: tensor<8xf32>, %lr: tensor<f32>, %n: tensor<i64>) {
  // expected-error @+1 {{'nn.adamw' op weight_decay must be non-negative, got -0.1}}
  %a, %b, %c = nn.adamw %p, %p, %p, %p, %lr, %n beta1 = 0.9 beta2 = 0.95 eps = 1.0e-8 weight_decay = -0.1 : tensor<8xf32>
  return
}

// -----

func.func @adamw_bf16_master(%p: tensor<8xbf16>, %lr: tensor<f32>, %n: tensor<i64>) {
  // expected-error @+1 {{operand #0 must be statically shaped tensor of 32-bit float values}}
  %a, %b, %c = nn.adamw %p, %p, %p, %p, %lr, %n beta1 = 0.9 beta2 = 0.95 eps = 1.0e-8 weight_decay = 0.0 : tensor<8xbf16>
  return
}

// -----

//===----------------------------------------------------------------------===//
// Backward ops
//===----------------------------------------------------------------------===//

// The accumulator has the gradient's type.
func.func @linear_grad_weight_accumulate(%dy: tensor<16x256xf32>, %x: tensor<16x64xf32>, %acc: tensor<256x32xf32>) {
  // expected-error @+1 {{'nn.linear_grad_weight' op failed to verify that accumulate has the result's type}}
  %g = "nn.linear_grad_weight"(%dy, %x, %acc) : (tensor<16x256xf32>, tensor<16x64xf32>, tensor<256x32xf32>) -> tensor<256x64xf32>
  return
}

// -----

func.func @embedding_grad_ids_rank(%ids: tensor<8x2xi32>, %dy: tensor<16x64xf32>) {
  // expected-error @+1 {{'nn.embedding_grad' op expects ids of rank 1, got rank 2}}
  %g = nn.embedding_grad %ids, %dy : tensor<8x2xi32>, tensor<16x64xf32> -> tensor<256x64xf32>
  return
}

// -----

func.func @embedding_grad_output_rank(%ids: tensor<16xi32>, %dy: tensor<1024xf32>) {
  // expected-error @+1 {{'nn.embedding_grad' op expects grad_output of rank 2, got rank 1}}
  %g = nn.embedding_grad %ids, %dy : tensor<16xi32>, tensor<1024xf32> -> tensor<256x64xf32>
  return
}

// -----

func.func @embedding_grad_table_rank(%ids: tensor<16xi32>, %dy: tensor<16x64xf32>) {
  // expected-error @+1 {{'nn.embedding_grad' op expects grad_table of rank 2, got rank 1}}
  %g = nn.embedding_grad %ids, %dy : tensor<16xi32>, tensor<16x64xf32> -> tensor<256xf32>
  return
}

// -----

func.func @embedding_grad_tokens(%ids: tensor<16xi32>, %dy: tensor<8x64xf32>) {
  // expected-error @+1 {{'nn.embedding_grad' op grad_output token count (8) does not match id count (16)}}
  %g = nn.embedding_grad %ids, %dy : tensor<16xi32>, tensor<8x64xf32> -> tensor<256x64xf32>
  return
}

// -----

func.func @embedding_grad_width(%ids: tensor<16xi32>, %dy: tensor<16x64xf32>) {
  // expected-error @+1 {{'nn.embedding_grad' op grad_table width (32) does not match grad_output width (64)}}
  %g = nn.embedding_grad %ids, %dy : tensor<16xi32>, tensor<16x64xf32> -> tensor<256x32xf32>
  return
}

// -----

func.func @linear_grad_input_output_rank(%dy: tensor<4096xf32>, %w: tensor<256x64xf32>) {
  // expected-error @+1 {{'nn.linear_grad_input' op expects grad_output of rank 2, got rank 1}}
  %g = nn.linear_grad_input %dy, %w : tensor<4096xf32>, tensor<256x64xf32> -> tensor<16x64xf32>
  return
}

// -----

func.func @linear_grad_input_weight_rank(%dy: tensor<16x256xf32>, %w: tensor<2x256x64xf32>) {
  // expected-error @+1 {{'nn.linear_grad_input' op expects weight of rank 2, got rank 3}}
  %g = nn.linear_grad_input %dy, %w : tensor<16x256xf32>, tensor<2x256x64xf32> -> tensor<16x64xf32>
  return
}

// -----

func.func @linear_grad_input_out_features(%dy: tensor<16x256xf32>, %w: tensor<128x64xf32>) {
  // expected-error @+1 {{'nn.linear_grad_input' op weight out-features (128) does not match grad_output width (256)}}
  %g = nn.linear_grad_input %dy, %w : tensor<16x256xf32>, tensor<128x64xf32> -> tensor<16x64xf32>
  return
}

// -----

func.func @linear_grad_input_shape(%dy: tensor<16x256xf32>, %w: tensor<256x64xf32>) {
  // expected-error @+1 {{'nn.linear_grad_input' op expects grad_input of shape [16, 64], got [16, 32]}}
  %g = nn.linear_grad_input %dy, %w : tensor<16x256xf32>, tensor<256x64xf32> -> tensor<16x32xf32>
  return
}

// -----

func.func @linear_grad_weight_output_rank(%dy: tensor<4096xf32>, %x: tensor<16x64xf32>) {
  // expected-error @+1 {{'nn.linear_grad_weight' op expects grad_output of rank 2, got rank 1}}
  %g = nn.linear_grad_weight %dy, %x : tensor<4096xf32>, tensor<16x64xf32> -> tensor<256x64xf32>
  return
}

// -----

func.func @linear_grad_weight_input_rank(%dy: tensor<16x256xf32>, %x: tensor<1024xf32>) {
  // expected-error @+1 {{'nn.linear_grad_weight' op expects input of rank 2, got rank 1}}
  %g = nn.linear_grad_weight %dy, %x : tensor<16x256xf32>, tensor<1024xf32> -> tensor<256x64xf32>
  return
}

// -----

func.func @linear_grad_weight_tokens(%dy: tensor<16x256xf32>, %x: tensor<8x64xf32>) {
  // expected-error @+1 {{'nn.linear_grad_weight' op input token count (8) does not match grad_output token count (16)}}
  %g = nn.linear_grad_weight %dy, %x : tensor<16x256xf32>, tensor<8x64xf32> -> tensor<256x64xf32>
  return
}

// -----

func.func @linear_grad_weight_shape(%dy: tensor<16x256xf32>, %x: tensor<16x64xf32>) {
  // expected-error @+1 {{'nn.linear_grad_weight' op expects grad_weight of shape [256, 64], got [64, 256]}}
  %g = nn.linear_grad_weight %dy, %x : tensor<16x256xf32>, tensor<16x64xf32> -> tensor<64x256xf32>
  return
}

// -----

func.func @bias_grad_rank(%dy: tensor<4096xf32>) {
  // expected-error @+1 {{'nn.bias_grad' op expects grad_output of rank 2, got rank 1}}
  %g = nn.bias_grad %dy : tensor<4096xf32> -> tensor<256xf32>
  return
}

// -----

func.func @bias_grad_shape(%dy: tensor<16x256xf32>) {
  // expected-error @+1 {{'nn.bias_grad' op expects grad_bias of shape [256], got [16]}}
  %g = nn.bias_grad %dy : tensor<16x256xf32> -> tensor<16xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// Optimizer ops
//===----------------------------------------------------------------------===//

func.func @lr_schedule_min_lr(%step: tensor<i64>) {
  // expected-error @+1 {{'nn.lr_schedule' op min_lr must be non-negative, got -0.1}}
  %lr = nn.lr_schedule %step lr = 1.0e-3 min_lr = -0.1 warmup_iters = 0 decay_iters = 10 style = linear
  return
}

// -----

func.func @lr_schedule_min_above_lr(%step: tensor<i64>) {
  // expected-error @+1 {{'nn.lr_schedule' op min_lr (1.000000e-02) exceeds lr (1.000000e-03)}}
  %lr = nn.lr_schedule %step lr = 1.0e-3 min_lr = 1.0e-2 warmup_iters = 0 decay_iters = 10 style = cosine
  return
}

// -----

// A negative warmup (the attribute is signed).
func.func @lr_schedule_negative_warmup(%step: tensor<i64>) {
  // expected-error @+1 {{'nn.lr_schedule' op warmup_iters must be non-negative, got -1}}
  %lr = nn.lr_schedule %step lr = 1.0e-3 min_lr = 0.0 warmup_iters = -1 decay_iters = 10 style = constant
  return
}

// -----

// A negative decay length is not past the warmup.
func.func @lr_schedule_negative_decay(%step: tensor<i64>) {
  // expected-error @+1 {{'nn.lr_schedule' op decay_iters (-5) must exceed warmup_iters (2)}}
  %lr = nn.lr_schedule %step lr = 1.0e-3 min_lr = 0.0 warmup_iters = 2 decay_iters = -5 style = cosine
  return
}

// -----

func.func @lr_schedule_decay_iters(%step: tensor<i64>) {
  // expected-error @+1 {{'nn.lr_schedule' op decay_iters (10) must exceed warmup_iters (10)}}
  %lr = nn.lr_schedule %step lr = 1.0e-3 min_lr = 0.0 warmup_iters = 10 decay_iters = 10 style = linear
  return
}

// -----

func.func @lr_schedule_decay_iters_cosine(%step: tensor<i64>) {
  // expected-error @+1 {{'nn.lr_schedule' op decay_iters (5) must exceed warmup_iters (20)}}
  %lr = nn.lr_schedule %step lr = 1.0e-3 min_lr = 0.0 warmup_iters = 20 decay_iters = 5 style = cosine
  return
}

// -----

func.func @lr_schedule_two_lengths(%step: tensor<i64>, %n: tensor<i64>) {
  // expected-error @+1 {{'nn.lr_schedule' op takes its decay length from decay_iters or from train_iters, not both}}
  %lr = nn.lr_schedule %step train_iters %n lr = 1.0e-3 min_lr = 0.0 warmup_iters = 0 decay_iters = 10 style = linear
  return
}

// -----

func.func @lr_schedule_no_length(%step: tensor<i64>) {
  // expected-error @+1 {{'nn.lr_schedule' op decays (cosine) but has neither decay_iters nor train_iters}}
  %lr = nn.lr_schedule %step lr = 1.0e-3 min_lr = 0.0 warmup_iters = 0 style = cosine
  return
}

// -----

func.func @lr_schedule_style(%step: tensor<i64>) {
  // expected-error @+1 {{expected string or keyword containing one of the following enum values for attribute 'style' [constant, linear, cosine]}}
  %lr = nn.lr_schedule %step lr = 1.0e-3 min_lr = 0.0 warmup_iters = 0 decay_iters = 10 style = exponential
  return
}

// -----

func.func @clip_grad_norm_no_grads() {
  // expected-error @+1 {{'nn.clip_grad_norm' op needs at least one gradient}}
  %n, %f = "nn.clip_grad_norm"() <{max_norm = 1.0 : f64, scale = 1.0 : f64}> : () -> (tensor<f32>, tensor<f32>)
  return
}

// -----

func.func @square_norm_no_grads() {
  // expected-error @+1 {{'nn.square_norm' op needs at least one gradient}}
  %n = "nn.square_norm"() : () -> tensor<f32>
  return
}

// -----

func.func @clip_factor_scale(%sq: tensor<f32>) {
  // expected-error @+1 {{'nn.clip_factor' op scale must be in (0, 1], got 2}}
  %n, %f = nn.clip_factor %sq max_norm = 1.0 scale = 2.0
  return
}

// -----

func.func @clip_factor_max_norm(%sq: tensor<f32>) {
  // expected-error @+1 {{'nn.clip_factor' op max_norm must be non-negative, got -1}}
  %n, %f = nn.clip_factor %sq max_norm = -1.0 scale = 1.0
  return
}

// -----

func.func @clip_grad_norm_max_norm(%g: tensor<64xf32>) {
  // expected-error @+1 {{'nn.clip_grad_norm' op max_norm must be non-negative, got -1}}
  %n, %f = nn.clip_grad_norm %g max_norm = -1.0 scale = 1.0 : tensor<64xf32>
  return
}

// -----

func.func @clip_grad_norm_scale_zero(%g: tensor<64xf32>) {
  // expected-error @+1 {{'nn.clip_grad_norm' op scale must be in (0, 1], got 0}}
  %n, %f = nn.clip_grad_norm %g max_norm = 1.0 scale = 0.0 : tensor<64xf32>
  return
}

// -----

func.func @clip_grad_norm_scale_large(%g: tensor<64xf32>) {
  // expected-error @+1 {{'nn.clip_grad_norm' op scale must be in (0, 1], got 2}}
  %n, %f = nn.clip_grad_norm %g max_norm = 1.0 scale = 2.0 : tensor<64xf32>
  return
}

// -----

func.func @clip_grad_norm_bf16(%g: tensor<64xbf16>) {
  // expected-error @+1 {{operand #0 must be variadic of statically shaped tensor of 32-bit float values}}
  %n, %f = nn.clip_grad_norm %g max_norm = 1.0 scale = 1.0 : tensor<64xbf16>
  return
}

// -----

func.func @adamw_grad_scale_rank(%p: tensor<8xf32>, %lr: tensor<f32>, %n: tensor<i64>, %s: tensor<1xf32>) {
  // The clipping factor is a scalar.
  // expected-error @+1 {{'nn.adamw' op operand #6 must be 0-d tensor of 32-bit float, but got 'tensor<1xf32>'}}
  %a:3 = "nn.adamw"(%p, %p, %p, %p, %lr, %n, %s)
      <{beta1 = 0.9 : f64, beta2 = 0.95 : f64, eps = 1.0e-8 : f64, weight_decay = 0.0 : f64,
        operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 1, 1>}>
      : (tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<f32>, tensor<i64>, tensor<1xf32>)
      -> (tensor<8xf32>, tensor<8xf32>, tensor<8xf32>)
  return
}
