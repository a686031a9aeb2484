// RUN: moe-opt %s -moe-autodiff -split-input-file -verify-diagnostics

// There is nothing to differentiate without a @forward.
// expected-error @+1 {{has no func.func @forward to differentiate}}
module {
  func.func @main(%x: tensor<4x8xf32> {moe.param = "x"}, %labels: tensor<4xi32> {moe.input = "labels"})
      -> (tensor<f32> {moe.result = "lm_loss"}) {
    %loss = nn.cross_entropy %x, %labels : tensor<4x8xf32>, tensor<4xi32>
    return %loss : tensor<f32>
  }
}

// -----

// The pass runs once: a @forward_backward already there is an error.
// expected-error @+1 {{already holds a @forward_backward}}
module {
  func.func @forward(%x: tensor<4x8xf32> {moe.param = "x"}, %labels: tensor<4xi32> {moe.input = "labels"})
      -> (tensor<f32> {moe.result = "lm_loss"}) {
    %loss = nn.cross_entropy %x, %labels : tensor<4x8xf32>, tensor<4xi32>
    return %loss : tensor<f32>
  }
  func.func @forward_backward() {
    return
  }
}

// -----

// Reverse mode over one straight-line block only.
// expected-error @+1 {{autodiff needs a straight-line function of one block}}
func.func @forward(%x: tensor<4x8xf32> {moe.param = "x"}, %labels: tensor<4xi32> {moe.input = "labels"})
    -> (tensor<f32> {moe.result = "lm_loss"}) {
  %loss = nn.cross_entropy %x, %labels : tensor<4x8xf32>, tensor<4xi32>
  return %loss : tensor<f32>
^unreachable:
  return %loss : tensor<f32>
}

// -----

// A max all-reduce has no gradient; reaching one with a gradient is an error
// at the op.
func.func @forward(%x: tensor<4x8xf32> {moe.param = "x"}, %labels: tensor<4xi32> {moe.input = "labels"})
    -> (tensor<f32> {moe.result = "lm_loss"}) {
  // expected-error @+1 {{'moe.all_reduce' op a max-reduction has no gradient}}
  %m = moe.all_reduce %x group = world size = 2 reduction = max : tensor<4x8xf32>
  %loss = nn.cross_entropy %m, %labels : tensor<4x8xf32>, tensor<4xi32>
  return %loss : tensor<f32>
}

// -----

// The fused dispatch GEMM has no DifferentiableOpInterface (moe-autodiff
// differentiates the unfused graph); a gradient reaching it is an error.
func.func @forward(%x: tensor<4x8xf32> {moe.param = "x"}, %idx: tensor<4x2xi32> {moe.input = "indices"},
                   %w1: tensor<2x8x8xf32> {moe.param = "experts.w1.weight"}, %labels: tensor<8xi32> {moe.input = "labels"})
    -> (tensor<f32> {moe.result = "lm_loss"}) {
  // expected-error @+1 {{'moe.gather_grouped_matmul' op has no vector-Jacobian product; only ops with DifferentiableOpInterface can be differentiated}}
  %h, %map, %sizes = moe.gather_grouped_matmul %x, %idx, %w1
      : tensor<4x8xf32>, tensor<4x2xi32>, tensor<2x8x8xf32> -> tensor<8x8xf32>, tensor<2xi32>
  %loss = nn.cross_entropy %h, %labels : tensor<8x8xf32>, tensor<8xi32>
  return %loss : tensor<f32>
}

// -----

// Likewise the fused GEMM + unpermute.
func.func @forward(%rows: tensor<8x8xf32> {moe.param = "rows"}, %w2: tensor<2x8x8xf32> {moe.param = "experts.w2.weight"},
                   %sizes: tensor<2xi32> {moe.input = "group_sizes"}, %map: tensor<4x2xi32> {moe.input = "row_map"},
                   %w: tensor<4x2xf32> {moe.input = "weights"}, %labels: tensor<4xi32> {moe.input = "labels"})
    -> (tensor<f32> {moe.result = "lm_loss"}) {
  // expected-error @+1 {{'moe.grouped_matmul_scatter' op has no vector-Jacobian product}}
  %y = moe.grouped_matmul_scatter %rows, %w2, %sizes, %map, %w
      : tensor<8x8xf32>, tensor<2x8x8xf32>, tensor<2xi32>, tensor<4x2xi32>, tensor<4x2xf32> -> tensor<4x8xf32>
  %loss = nn.cross_entropy %y, %labels : tensor<4x8xf32>, tensor<4xi32>
  return %loss : tensor<f32>
}

// -----

// Every result is a loss to seed: a count is not one.
// expected-error @+1 {{result 1 ('tensor<2xi32>') is not a loss to differentiate: every result of @forward must be a floating-point scalar}}
func.func @forward(%x: tensor<4x8xf32> {moe.param = "x"}, %labels: tensor<4xi32> {moe.input = "labels"},
                   %counts: tensor<2xi32> {moe.input = "counts"})
    -> (tensor<f32> {moe.result = "lm_loss"}, tensor<2xi32>) {
  %loss = nn.cross_entropy %x, %labels : tensor<4x8xf32>, tensor<4xi32>
  return %loss, %counts : tensor<f32>, tensor<2xi32>
}
