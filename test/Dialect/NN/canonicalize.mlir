// RUN: moe-opt %s -canonicalize | FileCheck %s

// Adding a zero constant (e.g. a residual branch folded to zero) is the identity.
// CHECK-LABEL: func.func @add_zero
// CHECK-SAME: (%[[X:.*]]: tensor<16x64xf32>)
// CHECK-NOT: nn.add
// CHECK: return %[[X]], %[[X]]
func.func @add_zero(%x: tensor<16x64xf32>) -> (tensor<16x64xf32>, tensor<16x64xf32>) {
  %zero = arith.constant dense<0.0> : tensor<16x64xf32>
  %a = nn.add %x, %zero : tensor<16x64xf32>
  %b = nn.add %zero, %x : tensor<16x64xf32>
  return %a, %b : tensor<16x64xf32>, tensor<16x64xf32>
}

// CHECK-LABEL: func.func @add_nonzero
// CHECK: nn.add
func.func @add_nonzero(%x: tensor<16x64xf32>) -> tensor<16x64xf32> {
  %one = arith.constant dense<1.0> : tensor<16x64xf32>
  %a = nn.add %x, %one : tensor<16x64xf32>
  return %a : tensor<16x64xf32>
}

// The ops are pure: unused results disappear.
// CHECK-LABEL: func.func @dead_ops
// CHECK-NOT: nn.
// CHECK: return
func.func @dead_ops(%x: tensor<16x64xf32>, %w: tensor<32x64xf32>) {
  %y = nn.linear %x, %w : tensor<16x64xf32>, tensor<32x64xf32> -> tensor<16x32xf32>
  %s = nn.swiglu %y, %y : tensor<16x32xf32>
  return
}
