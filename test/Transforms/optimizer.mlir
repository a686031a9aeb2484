// RUN: moe-opt %s -split-input-file -moe-autodiff -moe-optimizer="lr=3e-3 min-lr=3e-4 warmup-iters=2 decay-iters=10 decay-style=cosine beta1=0.9 beta2=0.95 eps=1e-8 weight-decay=0.1 clip-grad=1.0 micro-batches=4" | FileCheck %s
// RUN: moe-opt %s -split-input-file -moe-autodiff -moe-optimizer | FileCheck %s --check-prefix=DEFAULT
// RUN: moe-opt %s -split-input-file -moe-autodiff -moe-optimizer="clip-grad=0 decay-style=constant micro-batches=2" | FileCheck %s --check-prefix=NOCLIP

// A norm weight (1-D), a matrix and a bias.
//
// @forward_backward gains one accumulator argument per gradient, after the
// others, adds each gradient into it right where the gradient is complete, and
// returns the sums as the accumulators' new values. A weight gradient op
// adds into the accumulator itself (accumulate).
// CHECK-LABEL: func.func @forward_backward(
// CHECK-SAME: %[[X:arg[0-9]+]]: tensor<4x8xf32> {moe.input = "hidden"}, %{{.*}}: tensor<4xi32> {moe.input = "labels"},
// CHECK-SAME: %[[G:arg[0-9]+]]: tensor<8xf32> {moe.param = "norm.weight"}, %[[W:arg[0-9]+]]: tensor<16x8xf32> {moe.param = "fc.weight"}, %[[B:arg[0-9]+]]: tensor<16xf32> {moe.param = "fc.bias"},
// CHECK-SAME: %[[AG:arg[0-9]+]]: tensor<8xf32> {moe.state = "grad.norm.weight"}, %[[AW:arg[0-9]+]]: tensor<16x8xf32> {moe.state = "grad.fc.weight"}, %[[AB:arg[0-9]+]]: tensor<16xf32> {moe.state = "grad.fc.bias"})
// CHECK-SAME: -> (tensor<f32> {moe.result = "lm_loss"}, tensor<8xf32> {moe.update = "grad.norm.weight"}, tensor<16x8xf32> {moe.update = "grad.fc.weight"}, tensor<16xf32> {moe.update = "grad.fc.bias"})
// CHECK: %[[LOSS:.*]] = nn.cross_entropy
// CHECK: %[[SW:.*]] = nn.linear_grad_weight %{{.*}}, %{{.*}} accumulate %[[AW]] : tensor<4x16xf32>, tensor<4x8xf32> -> tensor<16x8xf32>
// CHECK-NEXT: %[[DB:.*]] = nn.bias_grad
// CHECK-NEXT: %[[SB:.*]] = nn.add %[[AB]], %[[DB]] : tensor<16xf32>
// CHECK-NEXT: %{{.*}}, %[[DG:.*]] = nn.rmsnorm_grad
// CHECK-NEXT: %[[SG:.*]] = nn.add %[[AG]], %[[DG]] : tensor<8xf32>
// CHECK-NEXT: return %[[LOSS]], %[[SG]], %[[SW]], %[[SB]] : tensor<f32>, tensor<8xf32>, tensor<16x8xf32>, tensor<16xf32>

// @optimizer_step(step, params, grads, exp_avg, exp_avg_sq).
// CHECK-LABEL: func.func @optimizer_step(
// CHECK-SAME: %[[STEP:arg[0-9]+]]: tensor<i64> {moe.input = "step"},
// CHECK-SAME: %[[PG:arg[0-9]+]]: tensor<8xf32> {moe.param = "norm.weight"}, %[[PW:arg[0-9]+]]: tensor<16x8xf32> {moe.param = "fc.weight"}, %[[PB:arg[0-9]+]]: tensor<16xf32> {moe.param = "fc.bias"},
// CHECK-SAME: %[[GG:arg[0-9]+]]: tensor<8xf32> {moe.state = "grad.norm.weight"}, %[[GW:arg[0-9]+]]: tensor<16x8xf32> {moe.state = "grad.fc.weight"}, %[[GB:arg[0-9]+]]: tensor<16xf32> {moe.state = "grad.fc.bias"},
// CHECK-SAME: %[[MG:arg[0-9]+]]: tensor<8xf32> {moe.state = "exp_avg.norm.weight"}, %[[MW:arg[0-9]+]]: tensor<16x8xf32> {moe.state = "exp_avg.fc.weight"}, %[[MB:arg[0-9]+]]: tensor<16xf32> {moe.state = "exp_avg.fc.bias"},
// CHECK-SAME: %[[VG:arg[0-9]+]]: tensor<8xf32> {moe.state = "exp_avg_sq.norm.weight"}, %[[VW:arg[0-9]+]]: tensor<16x8xf32> {moe.state = "exp_avg_sq.fc.weight"}, %[[VB:arg[0-9]+]]: tensor<16xf32> {moe.state = "exp_avg_sq.fc.bias"})
// CHECK-SAME: -> (tensor<f32> {moe.result = "lr"}, tensor<f32> {moe.result = "grad_norm"},
// CHECK-SAME: tensor<8xf32> {moe.update = "norm.weight"}, tensor<16x8xf32> {moe.update = "fc.weight"}, tensor<16xf32> {moe.update = "fc.bias"},
// CHECK-SAME: tensor<8xf32> {moe.update = "exp_avg.norm.weight"}, tensor<16x8xf32> {moe.update = "exp_avg.fc.weight"}, tensor<16xf32> {moe.update = "exp_avg.fc.bias"},
// CHECK-SAME: tensor<8xf32> {moe.update = "exp_avg_sq.norm.weight"}, tensor<16x8xf32> {moe.update = "exp_avg_sq.fc.weight"}, tensor<16xf32> {moe.update = "exp_avg_sq.fc.bias"})
// The schedule takes the options as they are.
// CHECK: %[[LR:.*]] = nn.lr_schedule %[[STEP]] lr = 3.000000e-03 min_lr = 3.000000e-04 warmup_iters = 2 decay_iters = 10 style = cosine
// The global norm over every accumulated gradient, averaged over 4 micro-batches.
// CHECK: %[[NORM:.*]], %[[FACTOR:.*]] = nn.clip_grad_norm %[[GG]], %[[GW]], %[[GB]] max_norm = 1.000000e+00 scale = 2.500000e-01 : tensor<8xf32>, tensor<16x8xf32>, tensor<16xf32>
// One AdamW per parameter, scaled by the clipping factor; no weight decay on
// the 1-D norm weight nor on the bias, the configured decay on the matrix.
// CHECK: %[[NPG:.*]], %[[NMG:.*]], %[[NVG:.*]] = nn.adamw %[[PG]], %[[GG]], %[[MG]], %[[VG]], %[[LR]], %[[STEP]] grad_scale %[[FACTOR]] beta1 = 9.000000e-01 beta2 = 0.94999999999999996 eps = 1.000000e-08 weight_decay = 0.000000e+00 : tensor<8xf32>
// CHECK: %[[NPW:.*]], %[[NMW:.*]], %[[NVW:.*]] = nn.adamw %[[PW]], %[[GW]], %[[MW]], %[[VW]], %[[LR]], %[[STEP]] grad_scale %[[FACTOR]] beta1 = 9.000000e-01 beta2 = 0.94999999999999996 eps = 1.000000e-08 weight_decay = 1.000000e-01 : tensor<16x8xf32>
// CHECK: %[[NPB:.*]], %[[NMB:.*]], %[[NVB:.*]] = nn.adamw %[[PB]], %[[GB]], %[[MB]], %[[VB]], %[[LR]], %[[STEP]] grad_scale %[[FACTOR]] beta1 = 9.000000e-01 beta2 = 0.94999999999999996 eps = 1.000000e-08 weight_decay = 0.000000e+00 : tensor<16xf32>
// CHECK: return %[[LR]], %[[NORM]], %[[NPG]], %[[NPW]], %[[NPB]], %[[NMG]], %[[NMW]], %[[NMB]], %[[NVG]], %[[NVW]], %[[NVB]]

// The defaults: lr 1e-4 decaying linearly to 0 over the training run, whose
// length is the input after the step; clipping at 1, one micro-batch, AdamW
// (0.9, 0.999, 1e-8) with decay 0.01 on matrices.
// DEFAULT-LABEL: func.func @optimizer_step(
// DEFAULT-SAME: %[[STEP:.*]]: tensor<i64> {moe.input = "step"}, %[[ITERS:.*]]: tensor<i64> {moe.input = "train_iters"}, %{{.*}}: tensor<8xf32> {moe.param = "norm.weight"}
// DEFAULT: nn.lr_schedule %[[STEP]] train_iters %[[ITERS]] lr = 1.000000e-04 min_lr = 0.000000e+00 warmup_iters = 0 style = linear
// DEFAULT: nn.clip_grad_norm %{{.*}}, %{{.*}}, %{{.*}} max_norm = 1.000000e+00 scale = 1.000000e+00
// DEFAULT: nn.adamw {{.*}} beta1 = 9.000000e-01 beta2 = 0.99899999999999999 eps = 1.000000e-08 weight_decay = 0.000000e+00 : tensor<8xf32>
// DEFAULT: nn.adamw {{.*}} beta1 = 9.000000e-01 beta2 = 0.99899999999999999 eps = 1.000000e-08 weight_decay = 1.000000e-02 : tensor<16x8xf32>
// DEFAULT: nn.adamw {{.*}} beta1 = 9.000000e-01 beta2 = 0.99899999999999999 eps = 1.000000e-08 weight_decay = 0.000000e+00 : tensor<16xf32>

// clip-grad = 0 disables clipping (max_norm = 0); the factor still averages
// the 2 micro-batches.
// NOCLIP-LABEL: func.func @optimizer_step(
// NOCLIP-NOT: train_iters
// NOCLIP: nn.lr_schedule %{{.*}} style = constant
// NOCLIP: %{{.*}}, %[[FACTOR:.*]] = nn.clip_grad_norm {{.*}} max_norm = 0.000000e+00 scale = 5.000000e-01
// NOCLIP-COUNT-3: nn.adamw {{.*}} grad_scale %[[FACTOR]]
func.func @forward(%x: tensor<4x8xf32> {moe.input = "hidden"}, %labels: tensor<4xi32> {moe.input = "labels"},
                   %g: tensor<8xf32> {moe.param = "norm.weight"}, %w: tensor<16x8xf32> {moe.param = "fc.weight"},
                   %b: tensor<16xf32> {moe.param = "fc.bias"})
    -> (tensor<f32> {moe.result = "lm_loss"}) {
  %n = nn.rmsnorm %x, %g eps = 1.0e-5 : tensor<4x8xf32>, tensor<8xf32>
  %y = nn.linear %n, %w, %b : tensor<4x8xf32>, tensor<16x8xf32>, tensor<16xf32> -> tensor<4x16xf32>
  %loss = nn.cross_entropy %y, %labels : tensor<4x16xf32>, tensor<4xi32>
  return %loss : tensor<f32>
}

// -----

// Two parameters with one shared gradient value (the summands of an nn.add)
// each get their own accumulation; a parameter that does not reach the loss
// accumulates its zero gradient. Weight decay: a name ending in ".bias" has
// none even when 2-D, a 2-D parameter without it and a stacked 3-D expert
// weight have the configured value, a 1-D parameter none.
// CHECK-LABEL: func.func @forward_backward(
// CHECK-SAME: %[[AA:arg[0-9]+]]: tensor<4x8xf32> {moe.state = "grad.a.bias"}, %[[AB:arg[0-9]+]]: tensor<4x8xf32> {moe.state = "grad.b"}, %[[AU:arg[0-9]+]]: tensor<3xf32> {moe.state = "grad.unused"}, %[[AE:arg[0-9]+]]: tensor<2x8x8xf32> {moe.state = "grad.experts.w1.weight"})
// CHECK: %[[DS:.*]] = moe.grouped_matmul_grad_input
// CHECK-DAG: %[[SB:.*]] = nn.add %[[AB]], %[[DS]]
// CHECK-DAG: %[[SA:.*]] = nn.add %[[AA]], %[[DS]]
// CHECK: %[[SE:.*]] = moe.grouped_matmul_grad_weight %{{.*}}, %{{.*}}, %{{.*}} accumulate %[[AE]]
// CHECK-NEXT: %[[ZERO:.*]] = arith.constant dense<0.000000e+00> : tensor<3xf32>
// CHECK-NEXT: %[[SU:.*]] = nn.add %[[AU]], %[[ZERO]]
// CHECK-NEXT: return %{{.*}}, %[[SA]], %[[SB]], %[[SU]], %[[SE]]
// CHECK-LABEL: func.func @optimizer_step(
// CHECK: nn.adamw {{.*}} weight_decay = 0.000000e+00 : tensor<4x8xf32>
// CHECK: nn.adamw {{.*}} weight_decay = 1.000000e-01 : tensor<4x8xf32>
// CHECK: nn.adamw {{.*}} weight_decay = 0.000000e+00 : tensor<3xf32>
// CHECK: nn.adamw {{.*}} weight_decay = 1.000000e-01 : tensor<2x8x8xf32>
func.func @forward(%x: tensor<4x8xf32> {moe.input = "hidden"}, %labels: tensor<4xi32> {moe.input = "labels"},
                   %a: tensor<4x8xf32> {moe.param = "a.bias"}, %b: tensor<4x8xf32> {moe.param = "b"},
                   %u: tensor<3xf32> {moe.param = "unused"}, %w: tensor<2x8x8xf32> {moe.param = "experts.w1.weight"},
                   %sizes: tensor<2xi32> {moe.input = "group_sizes"})
    -> (tensor<f32> {moe.result = "lm_loss"}) {
  %s = nn.add %a, %b : tensor<4x8xf32>
  %h = moe.grouped_matmul %s, %w, %sizes : tensor<4x8xf32>, tensor<2x8x8xf32>, tensor<2xi32> -> tensor<4x8xf32>
  %loss = nn.cross_entropy %h, %labels : tensor<4x8xf32>, tensor<4xi32>
  return %loss : tensor<f32>
}
