// RUN: moe-opt %s -moe-autodiff -moe-optimizer="micro-batches=2 world-size=4 ep=2" | FileCheck %s
// RUN: moe-opt %s -moe-autodiff -moe-optimizer="micro-batches=2 world-size=4 ep=2 distributed-optimizer=1" | FileCheck %s --check-prefix=DO
// RUN: sed 's/, moe.expert_shards = 2 : i64//' %s | moe-opt -moe-autodiff -moe-optimizer="micro-batches=2 world-size=2" | FileCheck %s --check-prefix=DP
// RUN: not moe-opt %s -moe-autodiff -moe-optimizer="world-size=2" 2>&1 | FileCheck %s --check-prefix=SHARDS
// SHARDS: error: 'experts.{expert}.w.weight' is split into 2 shards, but ep = 1
// RUN: sed 's/, moe.expert_shards = 2 : i64//' %s | not moe-opt -moe-autodiff -moe-optimizer="world-size=4 ep=3" 2>&1 | FileCheck %s --check-prefix=BAD
// BAD: error: ep must divide world-size = 4, got 3

// A dense weight and an expert weight that the ep group shards in two (one
// expert here, two in all).

// The accumulator and the optimizer state of the shard are shards too.
// CHECK-LABEL: func.func @forward_backward(
// CHECK-SAME: tensor<1x8x8xf32> {moe.expert_shards = 2 : i64, moe.state = "grad.experts.{expert}.w.weight"}

// Each rank sums the gradients over the ranks holding the same parameter:
// the dense one over all 4 (dp), the expert one over the 2 ranks holding
// the same expert (edp). The norm adds the ep group's expert squares; the
// scale averages over 2 micro-batches on each of 4 ranks.
// CHECK-LABEL: func.func @optimizer_step(
// CHECK-SAME: %[[PE:arg[0-9]+]]: tensor<1x8x8xf32> {moe.expert_shards = 2 : i64, moe.param = "experts.{expert}.w.weight"}, %[[PW:arg[0-9]+]]: tensor<16x8xf32> {moe.param = "fc.weight"},
// CHECK-SAME: %[[GE:arg[0-9]+]]: tensor<1x8x8xf32> {moe.expert_shards = 2 : i64, moe.state = "grad.experts.{expert}.w.weight"}, %[[GW:arg[0-9]+]]: tensor<16x8xf32> {moe.state = "grad.fc.weight"},
// CHECK-SAME: {moe.expert_shards = 2 : i64, moe.state = "exp_avg.experts.{expert}.w.weight"}
// CHECK-SAME: {moe.expert_shards = 2 : i64, moe.state = "exp_avg_sq.experts.{expert}.w.weight"}
// CHECK: %[[RE:.*]] = moe.all_reduce %[[GE]] group = edp size = 2 reduction = sum : tensor<1x8x8xf32>
// CHECK: %[[RW:.*]] = moe.all_reduce %[[GW]] group = dp size = 4 reduction = sum : tensor<16x8xf32>
// CHECK: %[[SQE:.*]] = nn.square_norm %[[RE]] : tensor<1x8x8xf32>
// CHECK: %[[SQEP:.*]] = moe.all_reduce %[[SQE]] group = ep size = 2 reduction = sum : tensor<f32>
// CHECK: %[[SQW:.*]] = nn.square_norm %[[RW]] : tensor<16x8xf32>
// CHECK: %[[SQ:.*]] = nn.add %[[SQW]], %[[SQEP]] : tensor<f32>
// CHECK: %[[NORM:.*]], %[[FACTOR:.*]] = nn.clip_factor %[[SQ]] max_norm = 1.000000e+00 scale = 1.250000e-01
// CHECK: nn.adamw %[[PE]], %[[RE]], {{.*}} grad_scale %[[FACTOR]]
// CHECK: nn.adamw %[[PW]], %[[RW]], {{.*}} grad_scale %[[FACTOR]]

// The distributed optimizer: each of the 4 holders of the dense weight (128
// elements, 32 each) and each of the 2 holders of the expert weight (64
// elements, 32 each) keeps the sum of its slice of the gradient and its slice
// of the moments, updates its slice of the parameter and gathers the rest.
// DO-LABEL: func.func @optimizer_step(
// DO-SAME: tensor<32xf32> {moe.expert_shards = 2 : i64, moe.flat_shards = 2 : i64, moe.state = "exp_avg.experts.{expert}.w.weight"}, %{{.*}}: tensor<32xf32> {moe.flat_shards = 4 : i64, moe.state = "exp_avg.fc.weight"}
// DO: %[[FE:.*]] = moe.flatten %{{.*}} : tensor<1x8x8xf32> -> tensor<64xf32>
// DO-NEXT: %[[GE:.*]] = moe.reduce_scatter %[[FE]] group = edp size = 2 : tensor<64xf32> -> tensor<32xf32>
// DO-NEXT: %[[FW:.*]] = moe.flatten %{{.*}} : tensor<16x8xf32> -> tensor<128xf32>
// DO-NEXT: %[[GW:.*]] = moe.reduce_scatter %[[FW]] group = dp size = 4 : tensor<128xf32> -> tensor<32xf32>
// DO-NEXT: %[[SQ:.*]] = nn.square_norm %[[GE]], %[[GW]] : tensor<32xf32>, tensor<32xf32>
// DO-NEXT: %[[SQALL:.*]] = moe.all_reduce %[[SQ]] group = world size = 4 reduction = sum : tensor<f32>
// DO-NEXT: %{{.*}}, %[[FACTOR:.*]] = nn.clip_factor %[[SQALL]] max_norm = 1.000000e+00 scale = 1.250000e-01
// DO: %[[PF:.*]] = moe.flatten %{{.*}} : tensor<1x8x8xf32> -> tensor<64xf32>
// DO-NEXT: %[[PS:.*]] = moe.local_shard %[[PF]] group = edp size = 2 : tensor<64xf32> -> tensor<32xf32>
// DO-NEXT: %[[NP:.*]], %{{.*}}, %{{.*}} = nn.adamw %[[PS]], %[[GE]], {{.*}} grad_scale %[[FACTOR]]
// DO-NEXT: %[[ALL:.*]] = moe.all_gather %[[NP]] group = edp size = 2 : tensor<32xf32> -> tensor<64xf32>
// DO-NEXT: moe.unflatten %[[ALL]] : tensor<64xf32> -> tensor<1x8x8xf32>

// Without expert parallelism every parameter is whole on every rank.
// DP-LABEL: func.func @optimizer_step(
// DP: %[[RE:.*]] = moe.all_reduce %{{.*}} group = dp size = 2 reduction = sum : tensor<1x8x8xf32>
// DP: %[[RW:.*]] = moe.all_reduce %{{.*}} group = dp size = 2 reduction = sum : tensor<16x8xf32>
// DP: nn.clip_grad_norm %[[RE]], %[[RW]] max_norm = 1.000000e+00 scale = 2.500000e-01
func.func @forward(%x: tensor<4x8xf32> {moe.input = "hidden"}, %labels: tensor<4xi32> {moe.input = "labels"},
                   %sizes: tensor<1xi32> {moe.input = "sizes"},
                   %we: tensor<1x8x8xf32> {moe.param = "experts.{expert}.w.weight", moe.expert_shards = 2 : i64},
                   %w: tensor<16x8xf32> {moe.param = "fc.weight"})
    -> (tensor<f32> {moe.result = "lm_loss"}) {
  %h = moe.grouped_matmul %x, %we, %sizes : tensor<4x8xf32>, tensor<1x8x8xf32>, tensor<1xi32> -> tensor<4x8xf32>
  %y = nn.linear %h, %w : tensor<4x8xf32>, tensor<16x8xf32> -> tensor<4x16xf32>
  %loss = nn.cross_entropy %y, %labels : tensor<4x16xf32>, tensor<4xi32>
  return %loss : tensor<f32>
}
