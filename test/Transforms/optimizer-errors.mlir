// RUN: moe-opt %s -split-input-file -moe-optimizer -verify-diagnostics
// Bad options, reported once the pass reaches a module it can work on (the
// last case below):
// RUN: not moe-opt %s -split-input-file -moe-optimizer="decay-style=exponential" 2>&1 | FileCheck %s --check-prefix=STYLE
// RUN: not moe-opt %s -split-input-file -moe-optimizer="micro-batches=0" 2>&1 | FileCheck %s --check-prefix=MICRO
// RUN: not moe-opt %s -split-input-file -moe-optimizer="lr=1e-3 min-lr=1e-2" 2>&1 | FileCheck %s --check-prefix=MINLR
// RUN: not moe-opt %s -split-input-file -moe-optimizer="warmup-iters=10 decay-iters=10" 2>&1 | FileCheck %s --check-prefix=DECAY
// RUN: not moe-opt %s -split-input-file -moe-optimizer="beta2=1.0" 2>&1 | FileCheck %s --check-prefix=BETA
// RUN: not moe-opt %s -split-input-file -moe-optimizer="eps=0" 2>&1 | FileCheck %s --check-prefix=EPS
// RUN: not moe-opt %s -split-input-file -moe-optimizer="clip-grad=-1" 2>&1 | FileCheck %s --check-prefix=CLIP

// moe-optimizer without moe-autodiff: there is no @forward_backward.
// expected-error @+1 {{has no func.func @forward_backward; run -moe-autodiff first}}
module {
  func.func @forward(%x: tensor<4x8xf32> {moe.param = "x"}, %labels: tensor<4xi32> {moe.input = "labels"})
      -> (tensor<f32> {moe.result = "lm_loss"}) {
    %loss = nn.cross_entropy %x, %labels : tensor<4x8xf32>, tensor<4xi32>
    return %loss : tensor<f32>
  }
}

// -----

// A @forward_backward without gradients (no moe.grad result) has nothing to
// accumulate.
// expected-error @+1 {{returns no moe.grad results; run -moe-autodiff first}}
func.func @forward_backward(%x: tensor<4x8xf32> {moe.input = "logits"}, %labels: tensor<4xi32> {moe.input = "labels"})
    -> (tensor<f32> {moe.result = "lm_loss"}) {
  %loss = nn.cross_entropy %x, %labels : tensor<4x8xf32>, tensor<4xi32>
  return %loss : tensor<f32>
}

// -----

// The pass runs once: an @optimizer_step already there is an error.
// expected-error @+1 {{already holds an @optimizer_step}}
module {
  func.func @forward_backward(%x: tensor<4x8xf32> {moe.param = "x"}, %labels: tensor<4xi32> {moe.input = "labels"})
      -> (tensor<f32> {moe.result = "lm_loss"}, tensor<4x8xf32> {moe.grad = "x"}) {
    %loss = nn.cross_entropy %x, %labels : tensor<4x8xf32>, tensor<4xi32>
    %seed = arith.constant dense<1.0> : tensor<f32>
    %dx = nn.cross_entropy_grad %seed, %x, %labels : tensor<4x8xf32>, tensor<4xi32>
    return %loss, %dx : tensor<f32>, tensor<4x8xf32>
  }
  func.func @optimizer_step() {
    return
  }
}

// -----

// A differentiated module: fine with the default options (no diagnostic),
// an error with an unknown decay style or no micro-batch.
// STYLE: error: unknown decay-style 'exponential' (constant, linear or cosine)
// MICRO: error: micro-batches must be at least 1, got 0{{$}}
// MINLR: error: min-lr must be in [0, lr = 1.000000e-03], got 1.000000e-02{{$}}
// DECAY: error: decay-iters must exceed warmup-iters = 10, got 10{{$}}
// BETA: error: beta2 must be in [0, 1), got 1.000000e+00{{$}}
// EPS: error: eps must be positive, got 0.000000e+00{{$}}
// CLIP: error: clip-grad must be non-negative (0: no clipping), got -1.000000e+00{{$}}
func.func @forward_backward(%x: tensor<4x8xf32> {moe.param = "x"}, %labels: tensor<4xi32> {moe.input = "labels"})
    -> (tensor<f32> {moe.result = "lm_loss"}, tensor<4x8xf32> {moe.grad = "x"}) {
  %loss = nn.cross_entropy %x, %labels : tensor<4x8xf32>, tensor<4xi32>
  %seed = arith.constant dense<1.0> : tensor<f32>
  %dx = nn.cross_entropy_grad %seed, %x, %labels : tensor<4x8xf32>, tensor<4xi32>
  return %loss, %dx : tensor<f32>, tensor<4x8xf32>
}
