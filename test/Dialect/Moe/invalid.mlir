// RUN: moe-opt %s -split-input-file -verify-diagnostics

//===----------------------------------------------------------------------===//
// Type constraints
//===----------------------------------------------------------------------===//

func.func @dynamic_shape(%x: tensor<?x64xf32>, %w: tensor<8x64xf32>) {
  // expected-error @+1 {{operand #0 must be statically shaped tensor of 32-bit float or bfloat16 type values}}
  %l = moe.router %x, %w : tensor<?x64xf32>, tensor<8x64xf32> -> tensor<?x8xf32>
  return
}

// -----

func.func @unknown_softmax(%l: tensor<16x8xf32>) {
  // expected-error @+1 {{expected string or keyword containing one of the following enum values for attribute 'softmax' [pre, post]}}
  %w, %i = moe.topk %l k = 2 softmax = middle : tensor<16x8xf32> -> tensor<16x2xf32>, tensor<16x2xi32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// moe.router
//===----------------------------------------------------------------------===//

func.func @router_input_rank(%x: tensor<2x8x64xf32>, %w: tensor<8x64xf32>) {
  // expected-error @+1 {{'moe.router' op expects input of rank 2, got rank 3}}
  %l = moe.router %x, %w : tensor<2x8x64xf32>, tensor<8x64xf32> -> tensor<16x8xf32>
  return
}

// -----

func.func @router_weight_rank(%x: tensor<16x64xf32>, %w: tensor<8x64x1xf32>) {
  // expected-error @+1 {{'moe.router' op expects weight of rank 2, got rank 3}}
  %l = moe.router %x, %w : tensor<16x64xf32>, tensor<8x64x1xf32> -> tensor<16x8xf32>
  return
}

// -----

func.func @router_hidden_mismatch(%x: tensor<16x64xf32>, %w: tensor<8x32xf32>) {
  // expected-error @+1 {{'moe.router' op weight hidden size (32) does not match input hidden size (64)}}
  %l = moe.router %x, %w : tensor<16x64xf32>, tensor<8x32xf32> -> tensor<16x8xf32>
  return
}

// -----

func.func @router_logits_shape(%x: tensor<16x64xf32>, %w: tensor<8x64xf32>) {
  // expected-error @+1 {{'moe.router' op expects logits of shape [16, 8], got [16, 4]}}
  %l = moe.router %x, %w : tensor<16x64xf32>, tensor<8x64xf32> -> tensor<16x4xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// moe.jitter
//===----------------------------------------------------------------------===//

func.func @jitter_eps_zero(%x: tensor<16x64xf32>, %seed: i64) {
  // expected-error @+1 {{'moe.jitter' op eps must be in (0, 1), got 0}}
  %y = moe.jitter %x, %seed eps = 0.0 : tensor<16x64xf32>
  return
}

// -----

func.func @jitter_eps_large(%x: tensor<16x64xf32>, %seed: i64) {
  // expected-error @+1 {{'moe.jitter' op eps must be in (0, 1), got 1.5}}
  %y = moe.jitter %x, %seed eps = 1.5 : tensor<16x64xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// moe.topk
//===----------------------------------------------------------------------===//

func.func @topk_logits_rank(%l: tensor<128xf32>) {
  // expected-error @+1 {{'moe.topk' op expects logits of rank 2, got rank 1}}
  %w, %i = moe.topk %l k = 2 softmax = post : tensor<128xf32> -> tensor<16x2xf32>, tensor<16x2xi32>
  return
}

// -----

func.func @topk_k_zero(%l: tensor<16x8xf32>) {
  // expected-error @+1 {{'moe.topk' op k must be at least 1, got 0}}
  %w, %i = moe.topk %l k = 0 softmax = post : tensor<16x8xf32> -> tensor<16x0xf32>, tensor<16x0xi32>
  return
}

// -----

func.func @topk_k_exceeds_experts(%l: tensor<16x2xf32>) {
  // expected-error @+1 {{'moe.topk' op k (3) exceeds the number of experts (2)}}
  %w, %i = moe.topk %l k = 3 softmax = post : tensor<16x2xf32> -> tensor<16x3xf32>, tensor<16x3xi32>
  return
}

// -----

func.func @topk_weights_shape(%l: tensor<16x8xf32>) {
  // expected-error @+1 {{'moe.topk' op expects weights of shape [16, 2], got [16, 3]}}
  %w, %i = moe.topk %l k = 2 softmax = post : tensor<16x8xf32> -> tensor<16x3xf32>, tensor<16x2xi32>
  return
}

// -----

func.func @topk_indices_shape(%l: tensor<16x8xf32>) {
  // expected-error @+1 {{'moe.topk' op expects indices of shape [16, 2], got [8, 2]}}
  %w, %i = moe.topk %l k = 2 softmax = post : tensor<16x8xf32> -> tensor<16x2xf32>, tensor<8x2xi32>
  return
}

// -----

func.func @topk_switch_post_softmax(%l: tensor<16x8xf32>) {
  // expected-error @+1 {{'moe.topk' op top-1 with softmax after top-k gives every token weight 1 and the router no gradient; use softmax = pre (Switch)}}
  %w, %i = moe.topk %l k = 1 softmax = post : tensor<16x8xf32> -> tensor<16x1xf32>, tensor<16x1xi32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// moe.sinkhorn
//===----------------------------------------------------------------------===//

func.func @sinkhorn_tol(%l: tensor<16x8xf32>) {
  // expected-error @+1 {{'moe.sinkhorn' op tol must be positive, got -0.001}}
  %w, %i = moe.sinkhorn %l k = 1 {tol = -1.0e-3 : f64} : tensor<16x8xf32> -> tensor<16x1xf32>, tensor<16x1xi32>
  return
}

// -----

func.func @sinkhorn_k_exceeds_experts(%l: tensor<16x4xf32>) {
  // expected-error @+1 {{'moe.sinkhorn' op k (5) exceeds the number of experts (4)}}
  %w, %i = moe.sinkhorn %l k = 5 : tensor<16x4xf32> -> tensor<16x5xf32>, tensor<16x5xi32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// moe.expert_choice
//===----------------------------------------------------------------------===//

func.func @expert_choice_rank(%l: tensor<64xf32>) {
  // expected-error @+1 {{'moe.expert_choice' op expects logits of rank 2, got rank 1}}
  %w, %i, %k = moe.expert_choice %l capacity_factor = 2.0 : tensor<64xf32> -> tensor<16x4xf32>, tensor<16x4xi32>, tensor<16x4xi1>
  return
}

// -----

func.func @expert_choice_factor(%l: tensor<16x4xf32>) {
  // expected-error @+1 {{'moe.expert_choice' op capacity_factor must be positive, got 0}}
  %w, %i, %k = moe.expert_choice %l capacity_factor = 0.0 : tensor<16x4xf32> -> tensor<16x4xf32>, tensor<16x4xi32>, tensor<16x4xi1>
  return
}

// -----

func.func @expert_choice_weights(%l: tensor<16x4xf32>) {
  // expected-error @+1 {{'moe.expert_choice' op expects weights of shape [16, 4], got [4, 8]}}
  %w, %i, %k = moe.expert_choice %l capacity_factor = 2.0 : tensor<16x4xf32> -> tensor<4x8xf32>, tensor<16x4xi32>, tensor<16x4xi1>
  return
}

// -----

func.func @expert_choice_indices(%l: tensor<16x4xf32>) {
  // expected-error @+1 {{'moe.expert_choice' op expects indices of shape [16, 4], got [16, 2]}}
  %w, %i, %k = moe.expert_choice %l capacity_factor = 2.0 : tensor<16x4xf32> -> tensor<16x4xf32>, tensor<16x2xi32>, tensor<16x4xi1>
  return
}

// -----

func.func @expert_choice_keep(%l: tensor<16x4xf32>) {
  // expected-error @+1 {{'moe.expert_choice' op expects keep of shape [16, 4], got [4, 16]}}
  %w, %i, %k = moe.expert_choice %l capacity_factor = 2.0 : tensor<16x4xf32> -> tensor<16x4xf32>, tensor<16x4xi32>, tensor<4x16xi1>
  return
}

// -----

//===----------------------------------------------------------------------===//
// moe.aux_loss and moe.z_loss
//===----------------------------------------------------------------------===//

func.func @aux_logits_rank(%l: tensor<128xf32>, %i: tensor<16x2xi32>) {
  // expected-error @+1 {{'moe.aux_loss' op expects logits of rank 2, got rank 1}}
  %a = moe.aux_loss %l, %i coeff = 1.0e-2 : tensor<128xf32>, tensor<16x2xi32>
  return
}

// -----

func.func @aux_indices_rank(%l: tensor<16x8xf32>, %i: tensor<32xi32>) {
  // expected-error @+1 {{'moe.aux_loss' op expects indices of rank 2, got rank 1}}
  %a = moe.aux_loss %l, %i coeff = 1.0e-2 : tensor<16x8xf32>, tensor<32xi32>
  return
}

// -----

func.func @aux_token_mismatch(%l: tensor<16x8xf32>, %i: tensor<8x2xi32>) {
  // expected-error @+1 {{'moe.aux_loss' op indices token count (8) does not match logits token count (16)}}
  %a = moe.aux_loss %l, %i coeff = 1.0e-2 : tensor<16x8xf32>, tensor<8x2xi32>
  return
}

// -----

func.func @aux_k_exceeds_experts(%l: tensor<16x2xf32>, %i: tensor<16x3xi32>) {
  // expected-error @+1 {{'moe.aux_loss' op k (3) exceeds the number of experts (2)}}
  %a = moe.aux_loss %l, %i coeff = 1.0e-2 : tensor<16x2xf32>, tensor<16x3xi32>
  return
}

// -----

func.func @aux_negative_coeff(%l: tensor<16x8xf32>, %i: tensor<16x2xi32>) {
  // expected-error @+1 {{'moe.aux_loss' op coeff must be non-negative, got -0.01}}
  %a = moe.aux_loss %l, %i coeff = -1.0e-2 : tensor<16x8xf32>, tensor<16x2xi32>
  return
}

// -----

func.func @aux_seq_length_divides(%l: tensor<16x8xf32>, %i: tensor<16x2xi32>) {
  // expected-error @+1 {{'moe.aux_loss' op seq_length (5) does not divide the token count (16)}}
  %a = moe.aux_loss %l, %i coeff = 1.0e-2 {seq_length = 5} : tensor<16x8xf32>, tensor<16x2xi32>
  return
}

// -----

func.func @aux_seq_length_zero(%l: tensor<16x8xf32>, %i: tensor<16x2xi32>) {
  // expected-error @+1 {{'moe.aux_loss' op seq_length must be at least 1, got 0}}
  %a = moe.aux_loss %l, %i coeff = 1.0e-2 {seq_length = 0} : tensor<16x8xf32>, tensor<16x2xi32>
  return
}

// -----

func.func @z_loss_rank(%l: tensor<2x16x8xf32>) {
  // expected-error @+1 {{'moe.z_loss' op expects logits of rank 2, got rank 3}}
  %z = moe.z_loss %l coeff = 1.0e-3 : tensor<2x16x8xf32>
  return
}

// -----

func.func @z_loss_negative_coeff(%l: tensor<16x8xf32>) {
  // expected-error @+1 {{'moe.z_loss' op coeff must be non-negative, got -1}}
  %z = moe.z_loss %l coeff = -1.0 : tensor<16x8xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// moe.capacity
//===----------------------------------------------------------------------===//

func.func @capacity_weights_rank(%w: tensor<32xf32>, %i: tensor<32xi32>) {
  // expected-error @+1 {{'moe.capacity' op expects weights of rank 2, got rank 1}}
  %k, %c = moe.capacity %w, %i capacity_factor = 1.0 policy = probs : tensor<32xf32>, tensor<32xi32> -> tensor<32xi1>, tensor<8xi32>
  return
}

// -----

func.func @capacity_indices_shape(%w: tensor<16x2xf32>, %i: tensor<16x1xi32>) {
  // expected-error @+1 {{'moe.capacity' op expects indices of shape [16, 2], got [16, 1]}}
  %k, %c = moe.capacity %w, %i capacity_factor = 1.0 policy = probs : tensor<16x2xf32>, tensor<16x1xi32> -> tensor<16x2xi1>, tensor<8xi32>
  return
}

// -----

func.func @capacity_keep_shape(%w: tensor<16x2xf32>, %i: tensor<16x2xi32>) {
  // expected-error @+1 {{'moe.capacity' op expects keep of shape [16, 2], got [16]}}
  %k, %c = moe.capacity %w, %i capacity_factor = 1.0 policy = probs : tensor<16x2xf32>, tensor<16x2xi32> -> tensor<16xi1>, tensor<8xi32>
  return
}

// -----

func.func @capacity_counts_rank(%w: tensor<16x2xf32>, %i: tensor<16x2xi32>) {
  // expected-error @+1 {{'moe.capacity' op expects counts of rank 1, got rank 2}}
  %k, %c = moe.capacity %w, %i capacity_factor = 1.0 policy = probs : tensor<16x2xf32>, tensor<16x2xi32> -> tensor<16x2xi1>, tensor<2x4xi32>
  return
}

// -----

func.func @capacity_k_exceeds_experts(%w: tensor<16x4xf32>, %i: tensor<16x4xi32>) {
  // expected-error @+1 {{'moe.capacity' op k (4) exceeds the number of experts (2)}}
  %k, %c = moe.capacity %w, %i capacity_factor = 1.0 policy = probs : tensor<16x4xf32>, tensor<16x4xi32> -> tensor<16x4xi1>, tensor<2xi32>
  return
}

// -----

func.func @capacity_factor_zero(%w: tensor<16x2xf32>, %i: tensor<16x2xi32>) {
  // expected-error @+1 {{'moe.capacity' op capacity_factor must be positive, got 0}}
  %k, %c = moe.capacity %w, %i capacity_factor = 0.0 policy = position : tensor<16x2xf32>, tensor<16x2xi32> -> tensor<16x2xi1>, tensor<8xi32>
  return
}

// -----

func.func @capacity_factor_negative(%w: tensor<16x2xf32>, %i: tensor<16x2xi32>) {
  // expected-error @+1 {{'moe.capacity' op capacity_factor must be positive, got -1.5}}
  %k, %c = moe.capacity %w, %i capacity_factor = -1.5 policy = probs : tensor<16x2xf32>, tensor<16x2xi32> -> tensor<16x2xi1>, tensor<8xi32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// moe.permute and moe.unpermute
//===----------------------------------------------------------------------===//

func.func @permute_rows_rank(%x: tensor<16x64xf32>, %i: tensor<16x2xi32>) {
  // expected-error @+1 {{'moe.permute' op expects rows of rank 2, got rank 3}}
  %r, %m, %s = moe.permute %x, %i : tensor<16x64xf32>, tensor<16x2xi32> -> tensor<2x16x64xf32>, tensor<8xi32>
  return
}

// -----

func.func @permute_input_rank(%x: tensor<16x64x1xf32>, %i: tensor<16x2xi32>) {
  // expected-error @+1 {{'moe.permute' op expects input of rank 2, got rank 3}}
  %r, %m, %s = moe.permute %x, %i : tensor<16x64x1xf32>, tensor<16x2xi32> -> tensor<32x64xf32>, tensor<8xi32>
  return
}

// -----

func.func @permute_indices_rank(%x: tensor<16x64xf32>, %i: tensor<32xi32>) {
  // expected-error @+1 {{'moe.permute' op expects indices of rank 2, got rank 1}}
  %r, %m, %s = moe.permute %x, %i : tensor<16x64xf32>, tensor<32xi32> -> tensor<32x64xf32>, tensor<8xi32>
  return
}

// -----

func.func @permute_group_sizes_rank(%x: tensor<16x64xf32>, %i: tensor<16x2xi32>) {
  // expected-error @+1 {{'moe.permute' op expects group_sizes of rank 1, got rank 2}}
  %r, %m, %s = moe.permute %x, %i : tensor<16x64xf32>, tensor<16x2xi32> -> tensor<32x64xf32>, tensor<8x1xi32>
  return
}

// -----

func.func @permute_token_mismatch(%x: tensor<8x64xf32>, %i: tensor<16x2xi32>) {
  // expected-error @+1 {{'moe.permute' op indices token count (16) does not match input token count (8)}}
  %r, %m, %s = moe.permute %x, %i : tensor<8x64xf32>, tensor<16x2xi32> -> tensor<32x64xf32>, tensor<8xi32>
  return
}

// -----

func.func @permute_mask_shape(%x: tensor<16x64xf32>, %i: tensor<16x2xi32>, %k: tensor<16x1xi1>) {
  // expected-error @+1 {{'moe.permute' op expects mask of shape [16, 2], got [16, 1]}}
  %r, %m, %s = moe.permute %x, %i, %k : tensor<16x64xf32>, tensor<16x2xi32>, tensor<16x1xi1> -> tensor<32x64xf32>, tensor<8xi32>
  return
}

// -----

func.func @permute_dropless_rows(%x: tensor<16x64xf32>, %i: tensor<16x2xi32>) {
  // expected-error @+1 {{'moe.permute' op row count (16) does not match the dropless bound T * k (32)}}
  %r, %m, %s = moe.permute %x, %i : tensor<16x64xf32>, tensor<16x2xi32> -> tensor<16x64xf32>, tensor<8xi32>
  return
}

// -----

func.func @permute_capacity_zero(%x: tensor<16x64xf32>, %i: tensor<16x2xi32>, %k: tensor<16x2xi1>) {
  // expected-error @+1 {{'moe.permute' op capacity must be at least 1, got 0}}
  %r, %m, %s = moe.permute %x, %i, %k capacity = 0 : tensor<16x64xf32>, tensor<16x2xi32>, tensor<16x2xi1> -> tensor<32x64xf32>, tensor<8xi32>
  return
}

// -----

func.func @permute_capacity_without_mask(%x: tensor<16x64xf32>, %i: tensor<16x2xi32>) {
  // expected-error @+1 {{'moe.permute' op a padded layout (capacity) needs the keep-mask of moe.capacity}}
  %r, %m, %s = moe.permute %x, %i capacity = 5 : tensor<16x64xf32>, tensor<16x2xi32> -> tensor<40x64xf32>, tensor<8xi32>
  return
}

// -----

func.func @permute_padded_rows(%x: tensor<16x64xf32>, %i: tensor<16x2xi32>, %k: tensor<16x2xi1>) {
  // expected-error @+1 {{'moe.permute' op row count (32) does not match the padded bound E * C (40)}}
  %r, %m, %s = moe.permute %x, %i, %k capacity = 5 : tensor<16x64xf32>, tensor<16x2xi32>, tensor<16x2xi1> -> tensor<32x64xf32>, tensor<8xi32>
  return
}

// -----

func.func @permute_row_width(%x: tensor<16x64xf32>, %i: tensor<16x2xi32>) {
  // expected-error @+1 {{'moe.permute' op row width (32) does not match input width (64)}}
  %r, %m, %s = moe.permute %x, %i : tensor<16x64xf32>, tensor<16x2xi32> -> tensor<32x32xf32>, tensor<8xi32>
  return
}

// -----

func.func @unpermute_rows_rank(%r: tensor<32xf32>, %m: tensor<16x2xi32>, %w: tensor<16x2xf32>) {
  // expected-error @+1 {{'moe.unpermute' op expects rows of rank 2, got rank 1}}
  %y = moe.unpermute %r, %m, %w : tensor<32xf32>, tensor<16x2xi32>, tensor<16x2xf32> -> tensor<16x64xf32>
  return
}

// -----

func.func @unpermute_map_rank(%r: tensor<32x64xf32>, %m: tensor<32xi32>, %w: tensor<16x2xf32>) {
  // expected-error @+1 {{'moe.unpermute' op expects row_map of rank 2, got rank 1}}
  %y = moe.unpermute %r, %m, %w : tensor<32x64xf32>, tensor<32xi32>, tensor<16x2xf32> -> tensor<16x64xf32>
  return
}

// -----

func.func @unpermute_weights_shape(%r: tensor<32x64xf32>, %m: tensor<16x2xi32>, %w: tensor<16x1xf32>) {
  // expected-error @+1 {{'moe.unpermute' op expects weights of shape [16, 2], got [16, 1]}}
  %y = moe.unpermute %r, %m, %w : tensor<32x64xf32>, tensor<16x2xi32>, tensor<16x1xf32> -> tensor<16x64xf32>
  return
}

// -----

func.func @unpermute_output_shape(%r: tensor<32x64xf32>, %m: tensor<16x2xi32>, %w: tensor<16x2xf32>) {
  // expected-error @+1 {{'moe.unpermute' op expects output of shape [16, 64], got [32, 64]}}
  %y = moe.unpermute %r, %m, %w : tensor<32x64xf32>, tensor<16x2xi32>, tensor<16x2xf32> -> tensor<32x64xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// moe.grouped_matmul and the fused forms
//===----------------------------------------------------------------------===//

func.func @gmm_rows_rank(%r: tensor<32x64x1xf32>, %w: tensor<8x128x64xf32>, %s: tensor<8xi32>) {
  // expected-error @+1 {{'moe.grouped_matmul' op expects rows of rank 2, got rank 3}}
  %o = moe.grouped_matmul %r, %w, %s : tensor<32x64x1xf32>, tensor<8x128x64xf32>, tensor<8xi32> -> tensor<32x128xf32>
  return
}

// -----

func.func @gmm_weight_rank(%r: tensor<32x64xf32>, %w: tensor<128x64xf32>, %s: tensor<8xi32>) {
  // expected-error @+1 {{'moe.grouped_matmul' op expects weight of rank 3, got rank 2}}
  %o = moe.grouped_matmul %r, %w, %s : tensor<32x64xf32>, tensor<128x64xf32>, tensor<8xi32> -> tensor<32x128xf32>
  return
}

// -----

func.func @gmm_sizes_rank(%r: tensor<32x64xf32>, %w: tensor<8x128x64xf32>, %s: tensor<8x1xi32>) {
  // expected-error @+1 {{'moe.grouped_matmul' op expects group_sizes of rank 1, got rank 2}}
  %o = moe.grouped_matmul %r, %w, %s : tensor<32x64xf32>, tensor<8x128x64xf32>, tensor<8x1xi32> -> tensor<32x128xf32>
  return
}

// -----

func.func @gmm_expert_mismatch(%r: tensor<32x64xf32>, %w: tensor<8x128x64xf32>, %s: tensor<4xi32>) {
  // expected-error @+1 {{'moe.grouped_matmul' op weight expert count (8) does not match group count (4)}}
  %o = moe.grouped_matmul %r, %w, %s : tensor<32x64xf32>, tensor<8x128x64xf32>, tensor<4xi32> -> tensor<32x128xf32>
  return
}

// -----

func.func @gmm_in_features(%r: tensor<32x64xf32>, %w: tensor<8x128x32xf32>, %s: tensor<8xi32>) {
  // expected-error @+1 {{'moe.grouped_matmul' op weight in-features (32) does not match row width (64)}}
  %o = moe.grouped_matmul %r, %w, %s : tensor<32x64xf32>, tensor<8x128x32xf32>, tensor<8xi32> -> tensor<32x128xf32>
  return
}

// -----

func.func @gmm_output_shape(%r: tensor<32x64xf32>, %w: tensor<8x128x64xf32>, %s: tensor<8xi32>) {
  // expected-error @+1 {{'moe.grouped_matmul' op expects output of shape [32, 128], got [32, 64]}}
  %o = moe.grouped_matmul %r, %w, %s : tensor<32x64xf32>, tensor<8x128x64xf32>, tensor<8xi32> -> tensor<32x64xf32>
  return
}

// -----

func.func @ggmm_output_rank(%x: tensor<16x64xf32>, %i: tensor<16x2xi32>, %w: tensor<8x128x64xf32>) {
  // expected-error @+1 {{'moe.gather_grouped_matmul' op expects output of rank 2, got rank 1}}
  %h, %m, %s = moe.gather_grouped_matmul %x, %i, %w : tensor<16x64xf32>, tensor<16x2xi32>, tensor<8x128x64xf32> -> tensor<4096xf32>, tensor<8xi32>
  return
}

// -----

func.func @ggmm_input_rank(%x: tensor<1024xf32>, %i: tensor<16x2xi32>, %w: tensor<8x128x64xf32>) {
  // expected-error @+1 {{'moe.gather_grouped_matmul' op expects input of rank 2, got rank 1}}
  %h, %m, %s = moe.gather_grouped_matmul %x, %i, %w : tensor<1024xf32>, tensor<16x2xi32>, tensor<8x128x64xf32> -> tensor<32x128xf32>, tensor<8xi32>
  return
}

// -----

func.func @ggmm_dispatch(%x: tensor<16x64xf32>, %i: tensor<16x2xi32>, %w: tensor<8x128x64xf32>) {
  // expected-error @+1 {{'moe.gather_grouped_matmul' op row count (16) does not match the dropless bound T * k (32)}}
  %h, %m, %s = moe.gather_grouped_matmul %x, %i, %w : tensor<16x64xf32>, tensor<16x2xi32>, tensor<8x128x64xf32> -> tensor<16x128xf32>, tensor<8xi32>
  return
}

// -----

func.func @ggmm_weight(%x: tensor<16x64xf32>, %i: tensor<16x2xi32>, %w: tensor<8x128x32xf32>) {
  // expected-error @+1 {{'moe.gather_grouped_matmul' op weight in-features (32) does not match row width (64)}}
  %h, %m, %s = moe.gather_grouped_matmul %x, %i, %w : tensor<16x64xf32>, tensor<16x2xi32>, tensor<8x128x32xf32> -> tensor<32x128xf32>, tensor<8xi32>
  return
}

// -----

func.func @ggmm_output_features(%x: tensor<16x64xf32>, %i: tensor<16x2xi32>, %w: tensor<8x128x64xf32>) {
  // expected-error @+1 {{'moe.gather_grouped_matmul' op expects output of shape [32, 128], got [32, 64]}}
  %h, %m, %s = moe.gather_grouped_matmul %x, %i, %w : tensor<16x64xf32>, tensor<16x2xi32>, tensor<8x128x64xf32> -> tensor<32x64xf32>, tensor<8xi32>
  return
}

// -----

func.func @gmms_rows_rank(%h: tensor<4096xf32>, %w: tensor<8x64x128xf32>, %s: tensor<8xi32>, %m: tensor<16x2xi32>, %g: tensor<16x2xf32>) {
  // expected-error @+1 {{'moe.grouped_matmul_scatter' op expects rows of rank 2, got rank 1}}
  %y = moe.grouped_matmul_scatter %h, %w, %s, %m, %g : tensor<4096xf32>, tensor<8x64x128xf32>, tensor<8xi32>, tensor<16x2xi32>, tensor<16x2xf32> -> tensor<16x64xf32>
  return
}

// -----

func.func @gmms_expert_mismatch(%h: tensor<32x128xf32>, %w: tensor<8x64x128xf32>, %s: tensor<2xi32>, %m: tensor<16x2xi32>, %g: tensor<16x2xf32>) {
  // expected-error @+1 {{'moe.grouped_matmul_scatter' op weight expert count (8) does not match group count (2)}}
  %y = moe.grouped_matmul_scatter %h, %w, %s, %m, %g : tensor<32x128xf32>, tensor<8x64x128xf32>, tensor<2xi32>, tensor<16x2xi32>, tensor<16x2xf32> -> tensor<16x64xf32>
  return
}

// -----

func.func @gmms_output(%h: tensor<32x128xf32>, %w: tensor<8x64x128xf32>, %s: tensor<8xi32>, %m: tensor<16x2xi32>, %g: tensor<16x2xf32>) {
  // expected-error @+1 {{'moe.grouped_matmul_scatter' op expects output of shape [16, 64], got [16, 128]}}
  %y = moe.grouped_matmul_scatter %h, %w, %s, %m, %g : tensor<32x128xf32>, tensor<8x64x128xf32>, tensor<8xi32>, tensor<16x2xi32>, tensor<16x2xf32> -> tensor<16x128xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// Collectives
//===----------------------------------------------------------------------===//

func.func @a2a_group_size(%r: tensor<32x64xf32>, %s: tensor<0xi32>) {
  // expected-error @+1 {{'moe.all_to_all_v' op group size must be at least 1, got 0}}
  %o = moe.all_to_all_v %r, %s, %s group = ep size = 0 : tensor<32x64xf32>, tensor<0xi32>, tensor<0xi32> -> tensor<32x64xf32>
  return
}

// -----

func.func @a2a_scalar(%r: tensor<f32>, %s: tensor<4xi32>) {
  // expected-error @+1 {{'moe.all_to_all_v' op expects input of rank at least 1, got rank 0}}
  %o = moe.all_to_all_v %r, %s, %s group = ep size = 4 : tensor<f32>, tensor<4xi32>, tensor<4xi32> -> tensor<f32>
  return
}

// -----

func.func @a2a_send_sizes(%r: tensor<32x64xf32>, %s: tensor<2xi32>, %t: tensor<4xi32>) {
  // expected-error @+1 {{'moe.all_to_all_v' op expects send_sizes of shape [4], got [2]}}
  %o = moe.all_to_all_v %r, %s, %t group = ep size = 4 : tensor<32x64xf32>, tensor<2xi32>, tensor<4xi32> -> tensor<128x64xf32>
  return
}

// -----

func.func @a2a_recv_sizes(%r: tensor<32x64xf32>, %s: tensor<4xi32>, %t: tensor<8xi32>) {
  // expected-error @+1 {{'moe.all_to_all_v' op expects recv_sizes of shape [4], got [8]}}
  %o = moe.all_to_all_v %r, %s, %t group = ep size = 4 : tensor<32x64xf32>, tensor<4xi32>, tensor<8xi32> -> tensor<128x64xf32>
  return
}

// -----

func.func @a2a_element_type(%r: tensor<32x64xf32>, %s: tensor<4xi32>) {
  // expected-error @+1 {{'moe.all_to_all_v' op output element type 'bf16' does not match input element type 'f32'}}
  %o = moe.all_to_all_v %r, %s, %s group = ep size = 4 : tensor<32x64xf32>, tensor<4xi32>, tensor<4xi32> -> tensor<128x64xbf16>
  return
}

// -----

func.func @a2a_output_rank(%r: tensor<32x64xf32>, %s: tensor<4xi32>) {
  // expected-error @+1 {{'moe.all_to_all_v' op expects output of rank 2, got rank 1}}
  %o = moe.all_to_all_v %r, %s, %s group = ep size = 4 : tensor<32x64xf32>, tensor<4xi32>, tensor<4xi32> -> tensor<128xf32>
  return
}

// -----

func.func @a2a_row_width(%r: tensor<32x64xf32>, %s: tensor<4xi32>) {
  // expected-error @+1 {{'moe.all_to_all_v' op output dimension 1 (32) does not match input dimension 1 (64)}}
  %o = moe.all_to_all_v %r, %s, %s group = ep size = 4 : tensor<32x64xf32>, tensor<4xi32>, tensor<4xi32> -> tensor<128x32xf32>
  return
}

// -----

func.func @all_gather_rows(%x: tensor<16x64xf32>) {
  // expected-error @+1 {{'moe.all_gather' op output dimension 0 (32) does not match group size times input dimension 0 (64)}}
  %g = moe.all_gather %x group = ep size = 4 : tensor<16x64xf32> -> tensor<32x64xf32>
  return
}

// -----

func.func @all_gather_group_size(%x: tensor<16x64xf32>) {
  // expected-error @+1 {{'moe.all_gather' op group size must be at least 1, got -2}}
  %g = moe.all_gather %x group = ep size = -2 : tensor<16x64xf32> -> tensor<16x64xf32>
  return
}

// -----

func.func @all_gather_trailing(%x: tensor<16x64xf32>) {
  // expected-error @+1 {{'moe.all_gather' op output dimension 1 (65) does not match input dimension 1 (64)}}
  %g = moe.all_gather %x group = ep size = 2 : tensor<16x64xf32> -> tensor<32x65xf32>
  return
}

// -----

func.func @reduce_scatter_divides(%x: tensor<10x64xf32>) {
  // expected-error @+1 {{'moe.reduce_scatter' op group size (4) does not divide input dimension 0 (10)}}
  %s = moe.reduce_scatter %x group = dp size = 4 : tensor<10x64xf32> -> tensor<2x64xf32>
  return
}

// -----

func.func @reduce_scatter_rows(%x: tensor<16x64xf32>) {
  // expected-error @+1 {{'moe.reduce_scatter' op output dimension 0 (8) does not match input dimension 0 over the group size (4)}}
  %s = moe.reduce_scatter %x group = dp size = 4 : tensor<16x64xf32> -> tensor<8x64xf32>
  return
}

// -----

func.func @reduce_scatter_scalar(%x: tensor<f32>) {
  // expected-error @+1 {{'moe.reduce_scatter' op expects input of rank at least 1, got rank 0}}
  %s = moe.reduce_scatter %x group = dp size = 1 : tensor<f32> -> tensor<f32>
  return
}

// -----

func.func @reduce_scatter_element_type(%x: tensor<16x64xf32>) {
  // expected-error @+1 {{'moe.reduce_scatter' op output element type 'i32' does not match input element type 'f32'}}
  %s = moe.reduce_scatter %x group = dp size = 4 : tensor<16x64xf32> -> tensor<4x64xi32>
  return
}

// -----

func.func @all_reduce_group_size(%x: tensor<16x64xf32>) {
  // expected-error @+1 {{'moe.all_reduce' op group size must be at least 1, got 0}}
  %r = moe.all_reduce %x group = world size = 0 reduction = sum : tensor<16x64xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// moe.permute_grad
//===----------------------------------------------------------------------===//

func.func @permute_grad_rows_rank(%d: tensor<2048xf32>, %map: tensor<16x2xi32>) {
  // expected-error @+1 {{'moe.permute_grad' op expects grad_rows of rank 2, got rank 1}}
  %g = moe.permute_grad %d, %map : tensor<2048xf32>, tensor<16x2xi32> -> tensor<16x64xf32>
  return
}

// -----

func.func @permute_grad_map_rank(%d: tensor<32x64xf32>, %map: tensor<32xi32>) {
  // expected-error @+1 {{'moe.permute_grad' op expects row_map of rank 2, got rank 1}}
  %g = moe.permute_grad %d, %map : tensor<32x64xf32>, tensor<32xi32> -> tensor<16x64xf32>
  return
}

// -----

func.func @permute_grad_shape(%d: tensor<32x64xf32>, %map: tensor<16x2xi32>) {
  // expected-error @+1 {{'moe.permute_grad' op expects grad_input of shape [16, 64], got [32, 64]}}
  %g = moe.permute_grad %d, %map : tensor<32x64xf32>, tensor<16x2xi32> -> tensor<32x64xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// moe.grouped_matmul_grad_input
//===----------------------------------------------------------------------===//

func.func @gmm_grad_input_output_rank(%d: tensor<4096xf32>, %w: tensor<8x128x64xf32>, %s: tensor<8xi32>) {
  // expected-error @+1 {{'moe.grouped_matmul_grad_input' op expects grad_output of rank 2, got rank 1}}
  %g = moe.grouped_matmul_grad_input %d, %w, %s : tensor<4096xf32>, tensor<8x128x64xf32>, tensor<8xi32> -> tensor<32x64xf32>
  return
}

// -----

func.func @gmm_grad_input_weight_rank(%d: tensor<32x128xf32>, %w: tensor<128x64xf32>, %s: tensor<8xi32>) {
  // expected-error @+1 {{'moe.grouped_matmul_grad_input' op expects weight of rank 3, got rank 2}}
  %g = moe.grouped_matmul_grad_input %d, %w, %s : tensor<32x128xf32>, tensor<128x64xf32>, tensor<8xi32> -> tensor<32x64xf32>
  return
}

// -----

func.func @gmm_grad_input_sizes_rank(%d: tensor<32x128xf32>, %w: tensor<8x128x64xf32>, %s: tensor<8x1xi32>) {
  // expected-error @+1 {{'moe.grouped_matmul_grad_input' op expects group_sizes of rank 1, got rank 2}}
  %g = moe.grouped_matmul_grad_input %d, %w, %s : tensor<32x128xf32>, tensor<8x128x64xf32>, tensor<8x1xi32> -> tensor<32x64xf32>
  return
}

// -----

func.func @gmm_grad_input_groups(%d: tensor<32x128xf32>, %w: tensor<8x128x64xf32>, %s: tensor<4xi32>) {
  // expected-error @+1 {{'moe.grouped_matmul_grad_input' op weight expert count (8) does not match group count (4)}}
  %g = moe.grouped_matmul_grad_input %d, %w, %s : tensor<32x128xf32>, tensor<8x128x64xf32>, tensor<4xi32> -> tensor<32x64xf32>
  return
}

// -----

func.func @gmm_grad_input_out_features(%d: tensor<32x128xf32>, %w: tensor<8x64x128xf32>, %s: tensor<8xi32>) {
  // expected-error @+1 {{'moe.grouped_matmul_grad_input' op weight out-features (64) does not match grad_output width (128)}}
  %g = moe.grouped_matmul_grad_input %d, %w, %s : tensor<32x128xf32>, tensor<8x64x128xf32>, tensor<8xi32> -> tensor<32x64xf32>
  return
}

// -----

func.func @gmm_grad_input_shape(%d: tensor<32x128xf32>, %w: tensor<8x128x64xf32>, %s: tensor<8xi32>) {
  // expected-error @+1 {{'moe.grouped_matmul_grad_input' op expects grad_rows of shape [32, 64], got [16, 64]}}
  %g = moe.grouped_matmul_grad_input %d, %w, %s : tensor<32x128xf32>, tensor<8x128x64xf32>, tensor<8xi32> -> tensor<16x64xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// moe.grouped_matmul_grad_weight
//===----------------------------------------------------------------------===//

func.func @gmm_grad_weight_output_rank(%d: tensor<4096xf32>, %x: tensor<32x64xf32>, %s: tensor<8xi32>) {
  // expected-error @+1 {{'moe.grouped_matmul_grad_weight' op expects grad_output of rank 2, got rank 1}}
  %g = moe.grouped_matmul_grad_weight %d, %x, %s : tensor<4096xf32>, tensor<32x64xf32>, tensor<8xi32> -> tensor<8x128x64xf32>
  return
}

// -----

func.func @gmm_grad_weight_rows_rank(%d: tensor<32x128xf32>, %x: tensor<2048xf32>, %s: tensor<8xi32>) {
  // expected-error @+1 {{'moe.grouped_matmul_grad_weight' op expects rows of rank 2, got rank 1}}
  %g = moe.grouped_matmul_grad_weight %d, %x, %s : tensor<32x128xf32>, tensor<2048xf32>, tensor<8xi32> -> tensor<8x128x64xf32>
  return
}

// -----

// The result is checked under the name of the weight it is the gradient of.
func.func @gmm_grad_weight_result_rank(%d: tensor<32x128xf32>, %x: tensor<32x64xf32>, %s: tensor<8xi32>) {
  // expected-error @+1 {{'moe.grouped_matmul_grad_weight' op expects grad_weight of rank 3, got rank 2}}
  %g = moe.grouped_matmul_grad_weight %d, %x, %s : tensor<32x128xf32>, tensor<32x64xf32>, tensor<8xi32> -> tensor<128x64xf32>
  return
}

// -----

func.func @gmm_grad_weight_sizes_rank(%d: tensor<32x128xf32>, %x: tensor<32x64xf32>, %s: tensor<8x1xi32>) {
  // expected-error @+1 {{'moe.grouped_matmul_grad_weight' op expects group_sizes of rank 1, got rank 2}}
  %g = moe.grouped_matmul_grad_weight %d, %x, %s : tensor<32x128xf32>, tensor<32x64xf32>, tensor<8x1xi32> -> tensor<8x128x64xf32>
  return
}

// -----

func.func @gmm_grad_weight_groups(%d: tensor<32x128xf32>, %x: tensor<32x64xf32>, %s: tensor<4xi32>) {
  // expected-error @+1 {{'moe.grouped_matmul_grad_weight' op grad_weight expert count (8) does not match group count (4)}}
  %g = moe.grouped_matmul_grad_weight %d, %x, %s : tensor<32x128xf32>, tensor<32x64xf32>, tensor<4xi32> -> tensor<8x128x64xf32>
  return
}

// -----

func.func @gmm_grad_weight_rows(%d: tensor<32x128xf32>, %x: tensor<16x64xf32>, %s: tensor<8xi32>) {
  // expected-error @+1 {{'moe.grouped_matmul_grad_weight' op rows count (16) does not match grad_output row count (32)}}
  %g = moe.grouped_matmul_grad_weight %d, %x, %s : tensor<32x128xf32>, tensor<16x64xf32>, tensor<8xi32> -> tensor<8x128x64xf32>
  return
}

// -----

func.func @gmm_grad_weight_shape(%d: tensor<32x128xf32>, %x: tensor<32x64xf32>, %s: tensor<8xi32>) {
  // expected-error @+1 {{'moe.grouped_matmul_grad_weight' op expects grad_weight of shape [8, 128, 64], got [8, 64, 128]}}
  %g = moe.grouped_matmul_grad_weight %d, %x, %s : tensor<32x128xf32>, tensor<32x64xf32>, tensor<8xi32> -> tensor<8x64x128xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// Shape constraints of the other backward ops
//===----------------------------------------------------------------------===//

func.func @topk_grad_shapes(%dw: tensor<16x2xf32>, %l: tensor<16x8xf32>, %i: tensor<16x1xi32>) {
  // expected-error @+1 {{'moe.topk_grad' op failed to verify that all of {grad_weights, indices} have same shape}}
  %g = moe.topk_grad %dw, %l, %i softmax = post : tensor<16x2xf32>, tensor<16x8xf32>, tensor<16x1xi32>
  return
}

// -----

func.func @expert_choice_grad_keep(%l: tensor<16x8xf32>, %keep: tensor<16x4xi1>) {
  // expected-error @+1 {{'moe.expert_choice_grad' op failed to verify that all of {logits, keep} have same shape}}
  %g = moe.expert_choice_grad %l, %l, %keep : tensor<16x8xf32>, tensor<16x4xi1>
  return
}

// -----

func.func @unpermute_grad_weights(%dy: tensor<16x64xf32>, %rows: tensor<32x64xf32>, %map: tensor<16x2xi32>,
                                  %w: tensor<16x1xf32>) {
  // expected-error @+1 {{'moe.unpermute_grad' op failed to verify that all of {row_map, weights} have same shape}}
  %g:2 = moe.unpermute_grad %dy, %rows, %map, %w : tensor<16x64xf32>, tensor<32x64xf32>, tensor<16x2xi32>, tensor<16x1xf32>
  return
}

//===----------------------------------------------------------------------===//
// Expert-parallel dispatch
//===----------------------------------------------------------------------===//

// -----

func.func @dispatch_counts_uneven(%c: tensor<10xi32>) {
  // expected-error @+1 {{'moe.dispatch_counts' op group size (4) does not divide counts dimension 0 (10)}}
  %s, %r, %k, %l = moe.dispatch_counts %c group = ep size = 4 : tensor<10xi32> -> tensor<4xi32>, tensor<4xi32>, tensor<0xi32>, tensor<0xi32>
  return
}

// -----

func.func @dispatch_counts_experts(%c: tensor<6xi32>) {
  // expected-error @+1 {{'moe.dispatch_counts' op group size (2) does not divide the expert count (3)}}
  %s, %r, %k, %l = moe.dispatch_counts %c group = ep size = 2 : tensor<6xi32> -> tensor<2xi32>, tensor<2xi32>, tensor<2xi32>, tensor<1xi32>
  return
}

// -----

func.func @dispatch_counts_chunks(%c: tensor<16xi32>) {
  // expected-error @+1 {{'moe.dispatch_counts' op expects chunk_sizes of shape [8], got [4]}}
  %s, %r, %k, %l = moe.dispatch_counts %c group = ep size = 2 : tensor<16xi32> -> tensor<2xi32>, tensor<2xi32>, tensor<4xi32>, tensor<4xi32>
  return
}

// -----

func.func @sort_chunks_sources(%x: tensor<64x32xf32>, %c: tensor<6xi32>) {
  // expected-error @+1 {{'moe.sort_chunks' op sources (4) does not divide chunk_sizes dimension 0 (6)}}
  %y = moe.sort_chunks %x, %c sources = 4 : tensor<64x32xf32>, tensor<6xi32>
  return
}

// -----

func.func @local_experts_uneven(%i: tensor<16x2xi32>) {
  // expected-error @+1 {{'moe.local_experts' op group size (3) does not divide experts (8)}}
  %l, %k = moe.local_experts %i group = ep size = 3 experts = 8 : tensor<16x2xi32> -> tensor<16x2xi32>, tensor<16x2xi1>
  return
}

// -----

func.func @local_experts_mask(%i: tensor<16x2xi32>, %m: tensor<16x1xi1>) {
  // expected-error @+1 {{'moe.local_experts' op expects a mask of the shape of the indices}}
  %l, %k = moe.local_experts %i, %m group = ep size = 2 experts = 8 : tensor<16x2xi32>, tensor<16x1xi1> -> tensor<16x2xi32>, tensor<16x2xi1>
  return
}

// -----

func.func @sort_chunks_no_sources(%x: tensor<64x32xf32>, %c: tensor<6xi32>) {
  // expected-error @+1 {{'moe.sort_chunks' op sources must be at least 1, got 0}}
  %y = moe.sort_chunks %x, %c sources = 0 : tensor<64x32xf32>, tensor<6xi32>
  return
}

//===----------------------------------------------------------------------===//
// The backward pass
//===----------------------------------------------------------------------===//

// -----

func.func @two_backward_passes() {
  moe.begin_backward
  // expected-error @+1 {{'moe.begin_backward' op must be the only one of its function}}
  moe.begin_backward
  return
}

// -----

// expected-error @+1 {{'moe.begin_backward' op must be directly in a function body}}
moe.begin_backward
