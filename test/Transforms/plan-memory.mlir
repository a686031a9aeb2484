// RUN: moe-opt %s -moe-plan-memory -split-input-file | FileCheck %s

// A chain: each buffer dies as the next is made, so two 4 KiB buffers at a
// time suffice, and the arena equals the peak of live bytes.
// CHECK-LABEL: func.func @chain
// CHECK-SAME: moe.arena_bytes = 8192 : i64, moe.buffer_bytes = 12288 : i64, moe.peak_live_bytes = 8192 : i64
// CHECK: nn.linear {{.*}} {moe.offsets = array<i64: 0>}
// CHECK: nn.add {{.*}} {moe.offsets = array<i64: 4096>}
// CHECK: nn.add {{.*}} {moe.offsets = array<i64: 0>}
func.func @chain(%x: tensor<16x64xf32>, %w: tensor<64x64xf32>) -> tensor<16x64xf32> {
  %a = nn.linear %x, %w : tensor<16x64xf32>, tensor<64x64xf32> -> tensor<16x64xf32>
  %b = nn.add %a, %a : tensor<16x64xf32>
  %c = nn.add %b, %b : tensor<16x64xf32>
  return %c : tensor<16x64xf32>
}

// -----

// A value used late stays live across the ops in between; small buffers round
// up to 64 bytes; a routing decision (the indices of a RoutingOpInterface op)
// stays live to the end, for the runtime's tokens-per-expert counts, even
// when unused, while its unused weights die at once and %b takes their
// place; constants are not arena buffers. At %c all but the weights are
// live: 3 * 4096 + 64 = 12352 bytes.
// CHECK-LABEL: func.func @long_lived
// CHECK-SAME: moe.arena_bytes = 12352 : i64, moe.buffer_bytes = 12416 : i64, moe.peak_live_bytes = 12352 : i64
// CHECK: arith.constant
// CHECK-NOT: moe.offsets
// CHECK: nn.linear {{.*}} {moe.offsets = array<i64: 0>}
// CHECK: moe.topk {{.*}} {moe.offsets = array<i64: 4096, 12288>}
// CHECK: nn.add {{.*}} {moe.offsets = array<i64: 4096>}
// CHECK: nn.add {{.*}} {moe.offsets = array<i64: 8192>}
func.func @long_lived(%x: tensor<16x64xf32>, %w: tensor<64x64xf32>, %l: tensor<16x4xf32>)
    -> tensor<16x64xf32> {
  %zero = arith.constant dense<0.0> : tensor<16x64xf32>
  %a = nn.linear %x, %w : tensor<16x64xf32>, tensor<64x64xf32> -> tensor<16x64xf32>
  %p, %i = moe.topk %l k = 1 softmax = pre : tensor<16x4xf32> -> tensor<16x1xf32>, tensor<16x1xi32>
  %b = nn.add %a, %zero : tensor<16x64xf32>
  %c = nn.add %b, %a : tensor<16x64xf32>
  return %c : tensor<16x64xf32>
}

// -----

// Expert choice routes by its indices and keep mask: both stay live to the
// end, the weights do not, and %w2 takes their place. A recomputed routing
// op repeats a decision already kept, so its results are not kept: four
// 64-byte buffers at most are live at once.
// CHECK-LABEL: func.func @expert_choice
// CHECK-SAME: moe.arena_bytes = 256 : i64, moe.buffer_bytes = 320 : i64, moe.peak_live_bytes = 256 : i64
// CHECK: moe.expert_choice {{.*}} {moe.offsets = array<i64: 0, 64, 128>}
// CHECK: moe.topk {{.*}} {moe.offsets = array<i64: 0, 192>, moe.recomputed}
func.func @expert_choice(%l: tensor<4x4xf32>) -> tensor<4x4xf32> {
  %w, %i, %keep = moe.expert_choice %l capacity_factor = 1.0
      : tensor<4x4xf32> -> tensor<4x4xf32>, tensor<4x4xi32>, tensor<4x4xi1>
  %w2, %i2 = moe.topk %l k = 1 softmax = pre {moe.recomputed}
      : tensor<4x4xf32> -> tensor<4x1xf32>, tensor<4x1xi32>
  return %l : tensor<4x4xf32>
}
