// RUN: moe-opt %s -canonicalize -split-input-file | FileCheck %s

// A zero coefficient turns a loss into the constant 0.
// CHECK-LABEL: func.func @zero_coefficient_losses
// CHECK-DAG: %[[ZERO:.*]] = arith.constant dense<0.000000e+00> : tensor<f32>
// CHECK-NOT: moe.aux_loss
// CHECK-NOT: moe.z_loss
// CHECK: return %[[ZERO]], %[[ZERO]]
func.func @zero_coefficient_losses(%l: tensor<16x8xf32>, %i: tensor<16x2xi32>) -> (tensor<f32>, tensor<f32>) {
  %aux = moe.aux_loss %l, %i coeff = 0.0 : tensor<16x8xf32>, tensor<16x2xi32>
  %z = moe.z_loss %l coeff = 0.0 : tensor<16x8xf32>
  return %aux, %z : tensor<f32>, tensor<f32>
}

// -----

// CHECK-LABEL: func.func @nonzero_coefficient_losses
// CHECK: moe.aux_loss
// CHECK: moe.z_loss
func.func @nonzero_coefficient_losses(%l: tensor<16x8xf32>, %i: tensor<16x2xi32>) -> (tensor<f32>, tensor<f32>) {
  %aux = moe.aux_loss %l, %i coeff = 1.0e-2 : tensor<16x8xf32>, tensor<16x2xi32>
  %z = moe.z_loss %l coeff = 1.0e-3 : tensor<16x8xf32>
  return %aux, %z : tensor<f32>, tensor<f32>
}

// -----

// Collectives over a group of one rank (EP = 1, a single process) vanish.
// CHECK-LABEL: func.func @single_rank_collectives
// CHECK-SAME: (%[[ROWS:.*]]: tensor<32x64xf32>, %[[S:.*]]: tensor<1xi32>, %[[G:.*]]: tensor<8x64xf32>)
// CHECK-NOT: moe.
// CHECK: return %[[ROWS]], %[[G]], %[[G]], %[[G]]
func.func @single_rank_collectives(%rows: tensor<32x64xf32>, %s: tensor<1xi32>, %g: tensor<8x64xf32>)
    -> (tensor<32x64xf32>, tensor<8x64xf32>, tensor<8x64xf32>, tensor<8x64xf32>) {
  %a = moe.all_to_all_v %rows, %s, %s group = ep size = 1 : tensor<32x64xf32>, tensor<1xi32>, tensor<1xi32> -> tensor<32x64xf32>
  %b = moe.all_gather %g group = ep size = 1 : tensor<8x64xf32> -> tensor<8x64xf32>
  %c = moe.reduce_scatter %g group = dp size = 1 : tensor<8x64xf32> -> tensor<8x64xf32>
  %d = moe.all_reduce %g group = world size = 1 reduction = sum : tensor<8x64xf32>
  return %a, %b, %c, %d : tensor<32x64xf32>, tensor<8x64xf32>, tensor<8x64xf32>, tensor<8x64xf32>
}

// -----

// With more ranks, or a receive bound that differs from the send bound, they stay.
// CHECK-LABEL: func.func @multi_rank_collectives
// CHECK: moe.all_to_all_v
// CHECK: moe.all_to_all_v
// CHECK: moe.all_gather
// CHECK: moe.reduce_scatter
// CHECK: moe.all_reduce
func.func @multi_rank_collectives(%rows: tensor<32x64xf32>, %s1: tensor<1xi32>, %s: tensor<2xi32>, %g: tensor<8x64xf32>)
    -> (tensor<48x64xf32>, tensor<64x64xf32>, tensor<16x64xf32>, tensor<4x64xf32>, tensor<8x64xf32>) {
  %a = moe.all_to_all_v %rows, %s1, %s1 group = ep size = 1 : tensor<32x64xf32>, tensor<1xi32>, tensor<1xi32> -> tensor<48x64xf32>
  %e = moe.all_to_all_v %rows, %s, %s group = ep size = 2 : tensor<32x64xf32>, tensor<2xi32>, tensor<2xi32> -> tensor<64x64xf32>
  %b = moe.all_gather %g group = ep size = 2 : tensor<8x64xf32> -> tensor<16x64xf32>
  %c = moe.reduce_scatter %g group = dp size = 2 : tensor<8x64xf32> -> tensor<4x64xf32>
  %d = moe.all_reduce %g group = world size = 2 reduction = sum : tensor<8x64xf32>
  return %a, %e, %b, %c, %d : tensor<48x64xf32>, tensor<64x64xf32>, tensor<16x64xf32>, tensor<4x64xf32>, tensor<8x64xf32>
}
