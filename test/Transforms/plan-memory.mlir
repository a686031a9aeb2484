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
// up to 64 bytes; a routing op's results stay live to the end, for the
// runtime's tokens-per-expert counts, even when unused; constants are not
// arena buffers. At %c everything is live: 3 * 4096 + 2 * 64 = 12416 bytes.
// CHECK-LABEL: func.func @long_lived
// CHECK-SAME: moe.arena_bytes = 12416 : i64, moe.buffer_bytes = 12416 : i64, moe.peak_live_bytes = 12416 : i64
// CHECK: arith.constant
// CHECK-NOT: moe.offsets
// CHECK: nn.linear {{.*}} {moe.offsets = array<i64: 0>}
// CHECK: moe.topk {{.*}} {moe.offsets = array<i64: 12288, 12352>}
// CHECK: nn.add {{.*}} {moe.offsets = array<i64: 4096>}
// CHECK: nn.add {{.*}} {moe.offsets = array<i64: 8192>}
func.func @long_lived(%x: tensor<16x64xf32>, %w: tensor<64x64xf32>, %l: tensor<16x4xf32>)
    -> (tensor<16x64xf32>, tensor<16x1xi32>) {
  %zero = arith.constant dense<0.0> : tensor<16x64xf32>
  %a = nn.linear %x, %w : tensor<16x64xf32>, tensor<64x64xf32> -> tensor<16x64xf32>
  %p, %i = moe.topk %l k = 1 softmax = pre : tensor<16x4xf32> -> tensor<16x1xf32>, tensor<16x1xi32>
  %b = nn.add %a, %zero : tensor<16x64xf32>
  %c = nn.add %b, %a : tensor<16x64xf32>
  return %c, %i : tensor<16x64xf32>, tensor<16x1xi32>
}
