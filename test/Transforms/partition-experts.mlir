// RUN: moe-opt %s -moe-partition-experts=ep=1 | FileCheck %s --check-prefix=EP1
// RUN: moe-opt %s -moe-partition-experts=ep=2 | FileCheck %s --check-prefixes=EP,EP2
// RUN: moe-opt %s -moe-partition-experts=ep=4 | FileCheck %s --check-prefixes=EP,EP4
// RUN: moe-opt %s -moe-partition-experts=ep=8 | FileCheck %s --check-prefixes=EP,EP8
// RUN: moe-opt %s -moe-partition-experts="ep=2 dispatcher=allgather" | FileCheck %s --check-prefix=GATHER
// RUN: moe-opt %s -moe-partition-experts="ep=4 dispatcher=replicated" | FileCheck %s --check-prefix=REPLICATED
// RUN: not moe-opt %s -moe-partition-experts="ep=2 dispatcher=bogus" 2>&1 | FileCheck %s --check-prefix=BOGUS
// BOGUS: error: unknown dispatcher 'bogus' (alltoall, allgather or replicated)

// One MoE layer of 8 experts, top-2 over 16 tokens: 32 permuted rows. Member
// p of an ep group keeps experts [p * 8 / ep, (p + 1) * 8 / ep) of each
// weight, receives up to ep * 32 rows and regroups them by local expert.

// EP1: func.func @forward({{.*}}%[[W1:.*]]: tensor<8x64x32xf32> {moe.param = "experts.{expert}.w1.weight"}, %[[W2:.*]]: tensor<8x32x64xf32> {moe.param = "experts.{expert}.w2.weight"})
// EP1-NOT: moe.all_to_all_v
// EP1: moe.grouped_matmul %{{.*}}, %[[W1]], %{{.*}} : tensor<32x32xf32>, tensor<8x64x32xf32>, tensor<8xi32> -> tensor<32x64xf32>

// EP2: func.func @forward({{.*}}: tensor<4x64x32xf32> {moe.expert_shards = 2 : i64, moe.param = "experts.{expert}.w1.weight"}, %{{.*}}: tensor<4x32x64xf32> {moe.expert_shards = 2 : i64, moe.param = "experts.{expert}.w2.weight"}) -> tensor<16x32xf32>
// EP4: func.func @forward({{.*}}: tensor<2x64x32xf32> {moe.expert_shards = 4 : i64, moe.param = "experts.{expert}.w1.weight"}, %{{.*}}: tensor<2x32x64xf32> {moe.expert_shards = 4 : i64, moe.param = "experts.{expert}.w2.weight"}) -> tensor<16x32xf32>
// EP8: func.func @forward({{.*}}: tensor<1x64x32xf32> {moe.expert_shards = 8 : i64, moe.param = "experts.{expert}.w1.weight"}, %{{.*}}: tensor<1x32x64xf32> {moe.expert_shards = 8 : i64, moe.param = "experts.{expert}.w2.weight"}) -> tensor<16x32xf32>

// EP: %[[ROWS:.*]], %[[MAP:.*]], %[[SIZES:.*]] = moe.permute
// EP2-NEXT: %[[ALL:.*]] = moe.all_gather %[[SIZES]] group = ep size = 2 : tensor<8xi32> -> tensor<16xi32>
// EP2-NEXT: %[[SEND:.*]], %[[RECV:.*]], %[[CHUNKS:.*]], %[[LOCAL:.*]] = moe.dispatch_counts %[[ALL]] group = ep size = 2 : tensor<16xi32> -> tensor<2xi32>, tensor<2xi32>, tensor<8xi32>, tensor<4xi32>
// EP2-NEXT: %[[IN:.*]] = moe.all_to_all_v %[[ROWS]], %[[SEND]], %[[RECV]] group = ep size = 2 : tensor<32x32xf32>, tensor<2xi32>, tensor<2xi32> -> tensor<64x32xf32>
// EP2-NEXT: %[[SORTED:.*]] = moe.sort_chunks %[[IN]], %[[CHUNKS]] sources = 2 : tensor<64x32xf32>, tensor<8xi32>
// EP2-NEXT: %[[H:.*]] = moe.grouped_matmul %[[SORTED]], %{{.*}}, %[[LOCAL]] : tensor<64x32xf32>, tensor<4x64x32xf32>, tensor<4xi32> -> tensor<64x64xf32>
// EP2-NEXT: %[[A:.*]] = nn.gelu %[[H]] approximate = none : tensor<64x64xf32>
// EP2-NEXT: %[[O:.*]] = moe.grouped_matmul %[[A]], %{{.*}}, %[[LOCAL]] : tensor<64x64xf32>, tensor<4x32x64xf32>, tensor<4xi32> -> tensor<64x32xf32>
// EP2-NEXT: %[[U:.*]] = moe.sort_chunks %[[O]], %[[CHUNKS]] sources = 2 inverse : tensor<64x32xf32>, tensor<8xi32>
// EP2-NEXT: %[[BACK:.*]] = moe.all_to_all_v %[[U]], %[[RECV]], %[[SEND]] group = ep size = 2 : tensor<64x32xf32>, tensor<2xi32>, tensor<2xi32> -> tensor<32x32xf32>
// EP2-NEXT: moe.unpermute %[[BACK]], %[[MAP]], %{{.*}} : tensor<32x32xf32>, tensor<16x2xi32>, tensor<16x2xf32> -> tensor<16x32xf32>

// EP4: moe.dispatch_counts %{{.*}} group = ep size = 4 : tensor<32xi32> -> tensor<4xi32>, tensor<4xi32>, tensor<8xi32>, tensor<2xi32>
// EP4: moe.all_to_all_v %{{.*}} group = ep size = 4 : tensor<32x32xf32>, tensor<4xi32>, tensor<4xi32> -> tensor<128x32xf32>
// EP4: moe.grouped_matmul {{.*}} : tensor<128x32xf32>, tensor<2x64x32xf32>, tensor<2xi32> -> tensor<128x64xf32>
// EP4: moe.all_to_all_v %{{.*}} group = ep size = 4 : tensor<128x32xf32>, tensor<4xi32>, tensor<4xi32> -> tensor<32x32xf32>

// EP8: moe.dispatch_counts %{{.*}} group = ep size = 8 : tensor<64xi32> -> tensor<8xi32>, tensor<8xi32>, tensor<8xi32>, tensor<1xi32>
// EP8: moe.grouped_matmul {{.*}} : tensor<256x32xf32>, tensor<1x64x32xf32>, tensor<1xi32> -> tensor<256x64xf32>
// EP8: moe.all_to_all_v %{{.*}} group = ep size = 8 : tensor<256x32xf32>, tensor<8xi32>, tensor<8xi32> -> tensor<32x32xf32>

// allgather: the group's 2 x 16 tokens, routing entries and combine weights
// are gathered; this member keeps its 4 experts' entries, permutes up to all
// 64 of them, and the reduce-scatter sums the members' outputs and returns
// its own 16 tokens.
// GATHER: func.func @forward(%[[X:.*]]: tensor<16x32xf32>, %[[IDX:.*]]: tensor<16x2xi32>, %[[W:.*]]: tensor<16x2xf32>
// GATHER-NEXT: %[[XG:.*]] = moe.all_gather %[[X]] group = ep size = 2 : tensor<16x32xf32> -> tensor<32x32xf32>
// GATHER-NEXT: %[[IG:.*]] = moe.all_gather %[[IDX]] group = ep size = 2 : tensor<16x2xi32> -> tensor<32x2xi32>
// GATHER-NEXT: %[[WG:.*]] = moe.all_gather %[[W]] group = ep size = 2 : tensor<16x2xf32> -> tensor<32x2xf32>
// GATHER-NEXT: %[[LOCAL:.*]], %[[KEEP:.*]] = moe.local_experts %[[IG]] group = ep size = 2 experts = 8 : tensor<32x2xi32> -> tensor<32x2xi32>, tensor<32x2xi1>
// GATHER-NEXT: %[[ROWS:.*]], %[[MAP:.*]], %[[SIZES:.*]] = moe.permute %[[XG]], %[[LOCAL]], %[[KEEP]] : tensor<32x32xf32>, tensor<32x2xi32>, tensor<32x2xi1> -> tensor<64x32xf32>, tensor<4xi32>
// GATHER-NEXT: moe.grouped_matmul %[[ROWS]], %{{.*}}, %[[SIZES]] : tensor<64x32xf32>, tensor<4x64x32xf32>, tensor<4xi32> -> tensor<64x64xf32>
// GATHER: %[[O:.*]] = moe.grouped_matmul {{.*}} -> tensor<64x32xf32>
// GATHER-NEXT: %[[Y:.*]] = moe.unpermute %[[O]], %[[MAP]], %[[WG]] : tensor<64x32xf32>, tensor<32x2xi32>, tensor<32x2xf32> -> tensor<32x32xf32>
// GATHER-NEXT: %[[OUT:.*]] = moe.reduce_scatter %[[Y]] group = ep size = 2 : tensor<32x32xf32> -> tensor<16x32xf32>
// GATHER-NEXT: return %[[OUT]]

// replicated: the group holds the same tokens; each member keeps its 2
// experts' entries and the all-reduce sums the members' outputs.
// REPLICATED: %[[LOCAL:.*]], %[[KEEP:.*]] = moe.local_experts %{{.*}} group = ep size = 4 experts = 8 : tensor<16x2xi32> -> tensor<16x2xi32>, tensor<16x2xi1>
// REPLICATED-NEXT: %[[ROWS:.*]], %[[MAP:.*]], %[[SIZES:.*]] = moe.permute %{{.*}}, %[[LOCAL]], %[[KEEP]] : tensor<16x32xf32>, tensor<16x2xi32>, tensor<16x2xi1> -> tensor<32x32xf32>, tensor<2xi32>
// REPLICATED: %[[Y:.*]] = moe.unpermute %{{.*}}, %[[MAP]], %{{.*}} : tensor<32x32xf32>, tensor<16x2xi32>, tensor<16x2xf32> -> tensor<16x32xf32>
// REPLICATED-NEXT: %[[OUT:.*]] = moe.all_reduce %[[Y]] group = ep size = 4 reduction = sum : tensor<16x32xf32>
// REPLICATED-NEXT: return %[[OUT]]

func.func @forward(%x: tensor<16x32xf32>, %idx: tensor<16x2xi32>, %w: tensor<16x2xf32>,
                   %w1: tensor<8x64x32xf32> {moe.param = "experts.{expert}.w1.weight"},
                   %w2: tensor<8x32x64xf32> {moe.param = "experts.{expert}.w2.weight"})
    -> tensor<16x32xf32> {
  %rows, %map, %sizes = moe.permute %x, %idx : tensor<16x32xf32>, tensor<16x2xi32> -> tensor<32x32xf32>, tensor<8xi32>
  %h = moe.grouped_matmul %rows, %w1, %sizes : tensor<32x32xf32>, tensor<8x64x32xf32>, tensor<8xi32> -> tensor<32x64xf32>
  %a = nn.gelu %h approximate = none : tensor<32x64xf32>
  %o = moe.grouped_matmul %a, %w2, %sizes : tensor<32x64xf32>, tensor<8x32x64xf32>, tensor<8xi32> -> tensor<32x32xf32>
  %y = moe.unpermute %o, %map, %w : tensor<32x32xf32>, tensor<16x2xi32>, tensor<16x2xf32> -> tensor<16x32xf32>
  return %y : tensor<16x32xf32>
}
