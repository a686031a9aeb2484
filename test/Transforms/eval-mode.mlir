// RUN: moe-opt %s -split-input-file -moe-eval-mode -verify-diagnostics | FileCheck %s

// Evaluation drops the input jitter and routes a Sinkhorn router by plain
// top-k; other functions (the training step) keep both.
// CHECK-LABEL: func.func @forward(
// CHECK-SAME: %[[X:[^:]*]]: tensor<16x8xf32>, %[[SEED:[^:]*]]: i64, %[[W:[^:]*]]: tensor<4x8xf32>
// CHECK-NOT: moe.jitter
// CHECK: %[[L:.*]] = moe.router %[[X]], %[[W]]
// CHECK: moe.sinkhorn %[[L]] k = 2 evaluation
// CHECK: moe.z_loss %[[L]]
// CHECK-LABEL: func.func @forward_backward(
// CHECK: %[[J:.*]] = moe.jitter
// CHECK: %[[L2:.*]] = moe.router %[[J]]
// CHECK: moe.sinkhorn %[[L2]] k = 2 :
func.func @forward(%x: tensor<16x8xf32>, %seed: i64, %w: tensor<4x8xf32>)
    -> (tensor<16x2xf32>, tensor<f32>) {
  %j = moe.jitter %x, %seed eps = 1.0e-2 : tensor<16x8xf32>
  %l = moe.router %j, %w : tensor<16x8xf32>, tensor<4x8xf32> -> tensor<16x4xf32>
  %p, %i = moe.sinkhorn %l k = 2 : tensor<16x4xf32> -> tensor<16x2xf32>, tensor<16x2xi32>
  %z = moe.z_loss %l coeff = 1.0e-3 : tensor<16x4xf32>
  return %p, %z : tensor<16x2xf32>, tensor<f32>
}
func.func @forward_backward(%x: tensor<16x8xf32>, %seed: i64, %w: tensor<4x8xf32>)
    -> tensor<16x2xf32> {
  %j = moe.jitter %x, %seed eps = 1.0e-2 : tensor<16x8xf32>
  %l = moe.router %j, %w : tensor<16x8xf32>, tensor<4x8xf32> -> tensor<16x4xf32>
  %p, %i = moe.sinkhorn %l k = 2 : tensor<16x4xf32> -> tensor<16x2xf32>, tensor<16x2xi32>
  return %p : tensor<16x2xf32>
}

// -----

// expected-error @below {{has no @forward to evaluate}}
module {
  func.func @step(%x: tensor<4xf32>) -> tensor<4xf32> {
    return %x : tensor<4xf32>
  }
}
