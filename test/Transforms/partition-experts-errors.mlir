// RUN: moe-opt %s -split-input-file -moe-partition-experts=ep=2 -verify-diagnostics

// 6 experts do not split over 4 ranks.
// RUN: not moe-opt %s -split-input-file -moe-partition-experts=ep=4 2>&1 | FileCheck %s --check-prefix=UNEVEN
// UNEVEN: 'moe.permute' op routes to 6 experts, which 4 ranks cannot split evenly

// RUN: not moe-opt %s -split-input-file -moe-partition-experts=ep=0 2>&1 | FileCheck %s --check-prefix=ZERO
// ZERO: ep must be at least 1, got 0

func.func @forward(%x: tensor<16x32xf32>, %idx: tensor<16x2xi32>, %w: tensor<16x2xf32>,
                   %w1: tensor<6x32x32xf32> {moe.param = "experts.{expert}.w1.weight"})
    -> tensor<16x32xf32> {
  %rows, %map, %sizes = moe.permute %x, %idx : tensor<16x32xf32>, tensor<16x2xi32> -> tensor<32x32xf32>, tensor<6xi32>
  %h = moe.grouped_matmul %rows, %w1, %sizes : tensor<32x32xf32>, tensor<6x32x32xf32>, tensor<6xi32> -> tensor<32x32xf32>
  // Only grouped GEMMs and their activation run on the experts' ranks.
  // expected-error @+1 {{'nn.add' op lies between moe.permute and moe.unpermute: only grouped GEMMs and their activation can run on the experts' ranks}}
  %s = nn.add %h, %rows : tensor<32x32xf32>
  %y = moe.unpermute %s, %map, %w : tensor<32x32xf32>, tensor<16x2xi32>, tensor<16x2xf32> -> tensor<16x32xf32>
  return %y : tensor<16x32xf32>
}

// -----

func.func @forward(%x: tensor<16x32xf32>, %idx: tensor<16x2xi32>, %w: tensor<16x2xf32>,
                   %w1: tensor<6x32x32xf32>) -> tensor<16x32xf32> {
  %rows, %map, %sizes = moe.permute %x, %idx : tensor<16x32xf32>, tensor<16x2xi32> -> tensor<32x32xf32>, tensor<6xi32>
  // expected-error @+1 {{'moe.grouped_matmul' op has a weight that is not a parameter: its experts cannot be sharded}}
  %h = moe.grouped_matmul %rows, %w1, %sizes : tensor<32x32xf32>, tensor<6x32x32xf32>, tensor<6xi32> -> tensor<32x32xf32>
  %y = moe.unpermute %h, %map, %w : tensor<32x32xf32>, tensor<16x2xi32>, tensor<16x2xf32> -> tensor<16x32xf32>
  return %y : tensor<16x32xf32>
}

// -----

func.func @forward(%x: tensor<16x32xf32>, %idx: tensor<16x2xi32>, %w: tensor<16x2xf32>,
                   %w1: tensor<6x32x32xf32> {moe.param = "experts.{expert}.w1.weight"})
    -> (tensor<16x32xf32>, tensor<6x32x32xf32>) {
  %rows, %map, %sizes = moe.permute %x, %idx : tensor<16x32xf32>, tensor<16x2xi32> -> tensor<32x32xf32>, tensor<6xi32>
  %h = moe.grouped_matmul %rows, %w1, %sizes : tensor<32x32xf32>, tensor<6x32x32xf32>, tensor<6xi32> -> tensor<32x32xf32>
  %y = moe.unpermute %h, %map, %w : tensor<32x32xf32>, tensor<16x2xi32>, tensor<16x2xf32> -> tensor<16x32xf32>
  // expected-error @+1 {{'func.return' op uses an expert weight: only moe.grouped_matmul may, for the experts to be sharded}}
  return %y, %w1 : tensor<16x32xf32>, tensor<6x32x32xf32>
}

// -----

// expected-error @+1 {{has no func.func @forward to partition}}
module {
  func.func @other() {
    return
  }
}
