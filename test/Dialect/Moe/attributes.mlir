// RUN: moe-opt %s -split-input-file -verify-diagnostics | FileCheck %s

// The discardable attributes of the moe dialect, as the graph builder and the
// passes write them, round-trip; each is verified where it may sit.

// CHECK: module attributes {moe.micro_batch_size = 2 : i64, moe.micro_batches = 4 : i64, moe.seq_length = 8 : i64}
// CHECK: func.func @forward_backward(%{{.*}}: tensor<16xi32> {moe.input = "tokens"}, %{{.*}}: tensor<4x8xf32> {moe.param = "gate.weight"}, %{{.*}}: tensor<4x8xf32> {moe.state = "grad.gate.weight"})
// CHECK-SAME: -> (tensor<f32> {moe.result = "lm_loss"}, tensor<4x8xf32> {moe.grad = "gate.weight"}, tensor<4x8xf32> {moe.update = "grad.gate.weight"})
// CHECK-SAME: attributes {moe.arena_bytes = 256 : i64, moe.buffer_bytes = 320 : i64, moe.peak_live_bytes = 256 : i64}
// CHECK: moe.topk {{.*}} {moe.offsets = array<i64: 0, -1>, moe.recomputed}
// CHECK: moe.begin_backward
module attributes {moe.seq_length = 8 : i64, moe.micro_batch_size = 2 : i64, moe.micro_batches = 4 : i64} {
  func.func @forward_backward(%ids: tensor<16xi32> {moe.input = "tokens"},
                              %w: tensor<4x8xf32> {moe.param = "gate.weight"},
                              %acc: tensor<4x8xf32> {moe.state = "grad.gate.weight"})
      -> (tensor<f32> {moe.result = "lm_loss"}, tensor<4x8xf32> {moe.grad = "gate.weight"},
          tensor<4x8xf32> {moe.update = "grad.gate.weight"})
      attributes {moe.arena_bytes = 256 : i64, moe.peak_live_bytes = 256 : i64, moe.buffer_bytes = 320 : i64} {
    %l = arith.constant dense<0.0> : tensor<16x4xf32>
    %p, %i = moe.topk %l k = 1 softmax = pre {moe.offsets = array<i64: 0, -1>, moe.recomputed}
        : tensor<16x4xf32> -> tensor<16x1xf32>, tensor<16x1xi32>
    moe.begin_backward
    %loss = arith.constant dense<0.0> : tensor<f32>
    return %loss, %w, %acc : tensor<f32>, tensor<4x8xf32>, tensor<4x8xf32>
  }
}

// -----

// expected-error @+1 {{unknown attribute 'moe.forward_ops' of the moe dialect}}
func.func @unknown() attributes {moe.forward_ops = 2 : i64} {
  return
}

// -----

// expected-error @+1 {{'moe.seq_length' belongs on the module}}
func.func @misplaced() attributes {moe.seq_length = 8 : i64} {
  return
}

// -----

// expected-error @+1 {{'moe.micro_batches' must be a positive integer}}
module attributes {moe.micro_batches = 0 : i64} {
}

// -----

func.func @offsets_per_result(%l: tensor<16x4xf32>) {
  // expected-error @+1 {{'moe.offsets' holds 1 offsets for 2 results}}
  %p, %i = moe.topk %l k = 1 softmax = pre {moe.offsets = array<i64: 0>}
      : tensor<16x4xf32> -> tensor<16x1xf32>, tensor<16x1xi32>
  return
}

// -----

func.func @negative_offset(%x: tensor<4xf32>) {
  // expected-error @+1 {{'moe.offsets' must be byte offsets, or -1 for a result outside the arena}}
  %y = nn.add %x, %x {moe.offsets = array<i64: -8>} : tensor<4xf32>
  return
}

// -----

func.func @recomputed_flag(%x: tensor<4xf32>) {
  // expected-error @+1 {{'moe.recomputed' must be a unit attribute}}
  %y = nn.add %x, %x {moe.recomputed = 1 : i64} : tensor<4xf32>
  return
}

// -----

// expected-error @+1 {{'moe.arena_bytes' must be a byte count}}
func.func @arena() attributes {moe.arena_bytes = -1 : i64} {
  return
}

// -----

// expected-error @+1 {{'moe.buffer_bytes' belongs on a function}}
module attributes {moe.buffer_bytes = 64 : i64} {
}

// -----

// expected-error @+1 {{argument 0: 'moe.param' must be a non-empty string}}
func.func @unnamed_param(%w: tensor<4xf32> {moe.param = ""}) {
  return
}

// -----

// expected-error @+1 {{argument 0 has more than one of 'moe.input', 'moe.param', 'moe.state'}}
func.func @two_roles(%w: tensor<4xf32> {moe.param = "w", moe.state = "grad.w"}) {
  return
}

// -----

// expected-error @+1 {{argument 0: unknown attribute 'moe.grad' of the moe dialect}}
func.func @result_attr_on_argument(%w: tensor<4xf32> {moe.grad = "w"}) {
  return
}

// -----

// expected-error @+1 {{result 0: 'moe.update' must be a non-empty string}}
func.func @update_by_number(%w: tensor<4xf32>) -> (tensor<4xf32> {moe.update = 3 : i64}) {
  return %w : tensor<4xf32>
}
