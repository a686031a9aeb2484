// RUN: moe-opt %s | FileCheck %s
// Round trip through the generic form too, so the custom syntax and the
// attribute dictionary describe the same ops.
// RUN: moe-opt %s --mlir-print-op-generic | moe-opt | FileCheck %s

// CHECK-LABEL: func.func @routing
func.func @routing(%x: tensor<16x64xf32>, %wr: tensor<8x64xf32>, %seed: i64)
    -> (tensor<16x2xf32>, tensor<16x2xi32>) {
  // CHECK: %[[J:.*]] = moe.jitter %{{.*}}, %{{.*}} eps = 1.000000e-02 : tensor<16x64xf32>
  %j = moe.jitter %x, %seed eps = 1.0e-2 : tensor<16x64xf32>
  // CHECK: %[[L:.*]] = moe.router %[[J]], %{{.*}} : tensor<16x64xf32>, tensor<8x64xf32> -> tensor<16x8xf32>
  %l = moe.router %j, %wr : tensor<16x64xf32>, tensor<8x64xf32> -> tensor<16x8xf32>
  // CHECK: moe.topk %[[L]] k = 2 softmax = post : tensor<16x8xf32> -> tensor<16x2xf32>, tensor<16x2xi32>
  %w, %i = moe.topk %l k = 2 softmax = post : tensor<16x8xf32> -> tensor<16x2xf32>, tensor<16x2xi32>
  return %w, %i : tensor<16x2xf32>, tensor<16x2xi32>
}

// CHECK-LABEL: func.func @router_bf16_input
func.func @router_bf16_input(%x: tensor<4x8xbf16>, %wr: tensor<2x8xf32>) -> tensor<4x2xf32> {
  // CHECK: moe.router %{{.*}}, %{{.*}} : tensor<4x8xbf16>, tensor<2x8xf32> -> tensor<4x2xf32>
  %l = moe.router %x, %wr : tensor<4x8xbf16>, tensor<2x8xf32> -> tensor<4x2xf32>
  return %l : tensor<4x2xf32>
}

// CHECK-LABEL: func.func @switch
func.func @switch(%l: tensor<16x8xf32>) -> (tensor<16x1xf32>, tensor<16x1xi32>) {
  // CHECK: moe.topk %{{.*}} k = 1 softmax = pre : tensor<16x8xf32> -> tensor<16x1xf32>, tensor<16x1xi32>
  %w, %i = moe.topk %l k = 1 softmax = pre : tensor<16x8xf32> -> tensor<16x1xf32>, tensor<16x1xi32>
  return %w, %i : tensor<16x1xf32>, tensor<16x1xi32>
}

// CHECK-LABEL: func.func @sinkhorn
func.func @sinkhorn(%l: tensor<16x8xf32>) -> (tensor<16x1xf32>, tensor<16x1xi32>, tensor<16x2xf32>, tensor<16x2xi32>) {
  // CHECK: moe.sinkhorn %{{.*}} k = 1 : tensor<16x8xf32> -> tensor<16x1xf32>, tensor<16x1xi32>
  %w, %i = moe.sinkhorn %l k = 1 : tensor<16x8xf32> -> tensor<16x1xf32>, tensor<16x1xi32>
  // CHECK: moe.sinkhorn %{{.*}} k = 2 {tol = 1.000000e-03 : f64} : tensor<16x8xf32> -> tensor<16x2xf32>, tensor<16x2xi32>
  %w2, %i2 = moe.sinkhorn %l k = 2 {tol = 1.0e-3 : f64} : tensor<16x8xf32> -> tensor<16x2xf32>, tensor<16x2xi32>
  // CHECK: moe.sinkhorn %{{.*}} k = 2 evaluation : tensor<16x8xf32> -> tensor<16x2xf32>, tensor<16x2xi32>
  %w3, %i3 = moe.sinkhorn %l k = 2 evaluation : tensor<16x8xf32> -> tensor<16x2xf32>, tensor<16x2xi32>
  return %w, %i, %w2, %i2 : tensor<16x1xf32>, tensor<16x1xi32>, tensor<16x2xf32>, tensor<16x2xi32>
}

// CHECK-LABEL: func.func @expert_choice
func.func @expert_choice(%x: tensor<16x64xf32>, %l: tensor<16x4xf32>) -> (tensor<32x64xf32>, tensor<16x4xf32>) {
  // CHECK: %[[W:.*]], %[[IDX:.*]], %[[KEEP:.*]] = moe.expert_choice %{{.*}} capacity_factor = 2.000000e+00 : tensor<16x4xf32> -> tensor<16x4xf32>, tensor<16x4xi32>, tensor<16x4xi1>
  %w, %idx, %keep = moe.expert_choice %l capacity_factor = 2.0
      : tensor<16x4xf32> -> tensor<16x4xf32>, tensor<16x4xi32>, tensor<16x4xi1>
  // Every expert takes C = 16 * 2 / 4 = 8 tokens: a padded layout of 4 * 8 rows.
  // CHECK: moe.permute %{{.*}}, %[[IDX]], %[[KEEP]] capacity = 8 : tensor<16x64xf32>, tensor<16x4xi32>, tensor<16x4xi1> -> tensor<32x64xf32>, tensor<4xi32>
  %rows, %map, %sizes = moe.permute %x, %idx, %keep capacity = 8
      : tensor<16x64xf32>, tensor<16x4xi32>, tensor<16x4xi1> -> tensor<32x64xf32>, tensor<4xi32>
  return %rows, %w : tensor<32x64xf32>, tensor<16x4xf32>
}

// CHECK-LABEL: func.func @losses
func.func @losses(%l: tensor<16x8xf32>, %i: tensor<16x2xi32>) -> (tensor<f32>, tensor<f32>, tensor<f32>) {
  // CHECK: moe.aux_loss %{{.*}}, %{{.*}} coeff = 1.000000e-02 : tensor<16x8xf32>, tensor<16x2xi32>
  %aux = moe.aux_loss %l, %i coeff = 1.0e-2 : tensor<16x8xf32>, tensor<16x2xi32>
  // CHECK: moe.aux_loss %{{.*}}, %{{.*}} coeff = 1.000000e-02 {seq_length = 8 : i64} : tensor<16x8xf32>, tensor<16x2xi32>
  %seq = moe.aux_loss %l, %i coeff = 1.0e-2 {seq_length = 8} : tensor<16x8xf32>, tensor<16x2xi32>
  // CHECK: moe.z_loss %{{.*}} coeff = 1.000000e-03 : tensor<16x8xf32>
  %z = moe.z_loss %l coeff = 1.0e-3 : tensor<16x8xf32>
  return %aux, %seq, %z : tensor<f32>, tensor<f32>, tensor<f32>
}

// CHECK-LABEL: func.func @dropless_dispatch
func.func @dropless_dispatch(%x: tensor<16x64xf32>, %i: tensor<16x2xi32>, %w: tensor<16x2xf32>,
                             %w1: tensor<8x128x64xf32>, %w2: tensor<8x64x128xf32>) -> tensor<16x64xf32> {
  // CHECK: %[[ROWS:.*]], %[[MAP:.*]], %[[SIZES:.*]] = moe.permute %{{.*}}, %{{.*}} : tensor<16x64xf32>, tensor<16x2xi32> -> tensor<32x64xf32>, tensor<8xi32>
  %rows, %map, %sizes = moe.permute %x, %i : tensor<16x64xf32>, tensor<16x2xi32> -> tensor<32x64xf32>, tensor<8xi32>
  // CHECK: %[[H:.*]] = moe.grouped_matmul %[[ROWS]], %{{.*}}, %[[SIZES]] : tensor<32x64xf32>, tensor<8x128x64xf32>, tensor<8xi32> -> tensor<32x128xf32>
  %h = moe.grouped_matmul %rows, %w1, %sizes : tensor<32x64xf32>, tensor<8x128x64xf32>, tensor<8xi32> -> tensor<32x128xf32>
  // CHECK: %[[O:.*]] = moe.grouped_matmul %[[H]], %{{.*}}, %[[SIZES]] : tensor<32x128xf32>, tensor<8x64x128xf32>, tensor<8xi32> -> tensor<32x64xf32>
  %o = moe.grouped_matmul %h, %w2, %sizes : tensor<32x128xf32>, tensor<8x64x128xf32>, tensor<8xi32> -> tensor<32x64xf32>
  // CHECK: moe.unpermute %[[O]], %[[MAP]], %{{.*}} : tensor<32x64xf32>, tensor<16x2xi32>, tensor<16x2xf32> -> tensor<16x64xf32>
  %y = moe.unpermute %o, %map, %w : tensor<32x64xf32>, tensor<16x2xi32>, tensor<16x2xf32> -> tensor<16x64xf32>
  return %y : tensor<16x64xf32>
}

// CHECK-LABEL: func.func @capacity_dispatch
func.func @capacity_dispatch(%x: tensor<16x64xf32>, %i: tensor<16x2xi32>, %w: tensor<16x2xf32>)
    -> (tensor<40x64xf32>, tensor<32x64xf32>) {
  // C = ceil(16 * 2 / 8 * 1.25) = 5.
  // CHECK: moe.capacity %{{.*}}, %{{.*}} capacity_factor = 1.250000e+00 policy = probs {pad_to_capacity} : tensor<16x2xf32>, tensor<16x2xi32> -> tensor<16x2xi1>, tensor<8xi32>
  %keep, %counts = moe.capacity %w, %i capacity_factor = 1.25 policy = probs {pad_to_capacity}
      : tensor<16x2xf32>, tensor<16x2xi32> -> tensor<16x2xi1>, tensor<8xi32>
  // CHECK: moe.permute %{{.*}}, %{{.*}}, %{{.*}} capacity = 5 : tensor<16x64xf32>, tensor<16x2xi32>, tensor<16x2xi1> -> tensor<40x64xf32>, tensor<8xi32>
  %rows, %map, %sizes = moe.permute %x, %i, %keep capacity = 5
      : tensor<16x64xf32>, tensor<16x2xi32>, tensor<16x2xi1> -> tensor<40x64xf32>, tensor<8xi32>
  // CHECK: moe.capacity %{{.*}}, %{{.*}} capacity_factor = 1.000000e+00 policy = position : tensor<16x2xf32>, tensor<16x2xi32> -> tensor<16x2xi1>, tensor<8xi32>
  %keep2, %counts2 = moe.capacity %w, %i capacity_factor = 1.0 policy = position
      : tensor<16x2xf32>, tensor<16x2xi32> -> tensor<16x2xi1>, tensor<8xi32>
  // CHECK: moe.permute %{{.*}}, %{{.*}}, %{{.*}} : tensor<16x64xf32>, tensor<16x2xi32>, tensor<16x2xi1> -> tensor<32x64xf32>, tensor<8xi32>
  %rows2, %map2, %sizes2 = moe.permute %x, %i, %keep2
      : tensor<16x64xf32>, tensor<16x2xi32>, tensor<16x2xi1> -> tensor<32x64xf32>, tensor<8xi32>
  return %rows, %rows2 : tensor<40x64xf32>, tensor<32x64xf32>
}

// CHECK-LABEL: func.func @fused_dispatch
func.func @fused_dispatch(%x: tensor<16x64xf32>, %i: tensor<16x2xi32>, %w: tensor<16x2xf32>,
                          %keep: tensor<16x2xi1>, %w1: tensor<8x128x64xf32>,
                          %w2: tensor<8x64x128xf32>) -> (tensor<16x64xf32>, tensor<40x128xf32>) {
  // CHECK: %[[H:.*]], %[[MAP:.*]], %[[SIZES:.*]] = moe.gather_grouped_matmul %{{.*}}, %{{.*}}, %{{.*}} : tensor<16x64xf32>, tensor<16x2xi32>, tensor<8x128x64xf32> -> tensor<32x128xf32>, tensor<8xi32>
  %h, %map, %sizes = moe.gather_grouped_matmul %x, %i, %w1
      : tensor<16x64xf32>, tensor<16x2xi32>, tensor<8x128x64xf32> -> tensor<32x128xf32>, tensor<8xi32>
  // CHECK: moe.grouped_matmul_scatter %[[H]], %{{.*}}, %[[SIZES]], %[[MAP]], %{{.*}} : tensor<32x128xf32>, tensor<8x64x128xf32>, tensor<8xi32>, tensor<16x2xi32>, tensor<16x2xf32> -> tensor<16x64xf32>
  %y = moe.grouped_matmul_scatter %h, %w2, %sizes, %map, %w
      : tensor<32x128xf32>, tensor<8x64x128xf32>, tensor<8xi32>, tensor<16x2xi32>, tensor<16x2xf32> -> tensor<16x64xf32>
  // CHECK: moe.gather_grouped_matmul %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} capacity = 5 : tensor<16x64xf32>, tensor<16x2xi32>, tensor<8x128x64xf32>, tensor<16x2xi1> -> tensor<40x128xf32>, tensor<8xi32>
  %hp, %mapp, %sizesp = moe.gather_grouped_matmul %x, %i, %w1, %keep capacity = 5
      : tensor<16x64xf32>, tensor<16x2xi32>, tensor<8x128x64xf32>, tensor<16x2xi1> -> tensor<40x128xf32>, tensor<8xi32>
  return %y, %hp : tensor<16x64xf32>, tensor<40x128xf32>
}

// CHECK-LABEL: func.func @collectives
func.func @collectives(%rows: tensor<32x64xbf16>, %send: tensor<4xi32>, %recv: tensor<4xi32>,
                       %g: tensor<8x64x128xf32>, %c: tensor<8xi32>)
    -> (tensor<128x64xbf16>, tensor<32x64x128xf32>, tensor<2x64x128xf32>, tensor<8x64x128xf32>, tensor<8xi32>) {
  // CHECK: moe.all_to_all_v %{{.*}}, %{{.*}}, %{{.*}} group = ep size = 4 : tensor<32x64xbf16>, tensor<4xi32>, tensor<4xi32> -> tensor<128x64xbf16>
  %a = moe.all_to_all_v %rows, %send, %recv group = ep size = 4
      : tensor<32x64xbf16>, tensor<4xi32>, tensor<4xi32> -> tensor<128x64xbf16>
  // CHECK: moe.all_gather %{{.*}} group = edp size = 4 : tensor<8x64x128xf32> -> tensor<32x64x128xf32>
  %b = moe.all_gather %g group = edp size = 4 : tensor<8x64x128xf32> -> tensor<32x64x128xf32>
  // CHECK: moe.reduce_scatter %{{.*}} group = dp size = 4 : tensor<8x64x128xf32> -> tensor<2x64x128xf32>
  %s = moe.reduce_scatter %g group = dp size = 4 : tensor<8x64x128xf32> -> tensor<2x64x128xf32>
  // CHECK: moe.all_reduce %{{.*}} group = world size = 8 reduction = mean : tensor<8x64x128xf32>
  %r = moe.all_reduce %g group = world size = 8 reduction = mean : tensor<8x64x128xf32>
  // CHECK: moe.all_reduce %{{.*}} group = ep size = 2 reduction = sum : tensor<8xi32>
  %n = moe.all_reduce %c group = ep size = 2 reduction = sum : tensor<8xi32>
  return %a, %b, %s, %r, %n : tensor<128x64xbf16>, tensor<32x64x128xf32>, tensor<2x64x128xf32>, tensor<8x64x128xf32>, tensor<8xi32>
}

// The alltoall dispatcher's bookkeeping: a member's split sizes, and the
// regrouping of the rows it receives.
// CHECK-LABEL: func.func @expert_parallel_dispatch
func.func @expert_parallel_dispatch(%all: tensor<16xi32>, %rows: tensor<64x32xf32>)
    -> (tensor<64x32xf32>, tensor<4xi32>) {
  // CHECK: moe.dispatch_counts %{{.*}} group = ep size = 2 : tensor<16xi32> -> tensor<2xi32>, tensor<2xi32>, tensor<8xi32>, tensor<4xi32>
  %send, %recv, %chunks, %local = moe.dispatch_counts %all group = ep size = 2
      : tensor<16xi32> -> tensor<2xi32>, tensor<2xi32>, tensor<8xi32>, tensor<4xi32>
  // CHECK: moe.sort_chunks %{{.*}}, %{{.*}} sources = 2 : tensor<64x32xf32>, tensor<8xi32>
  %sorted = moe.sort_chunks %rows, %chunks sources = 2 : tensor<64x32xf32>, tensor<8xi32>
  // CHECK: moe.sort_chunks %{{.*}}, %{{.*}} sources = 2 inverse : tensor<64x32xf32>, tensor<8xi32>
  %back = moe.sort_chunks %sorted, %chunks sources = 2 inverse : tensor<64x32xf32>, tensor<8xi32>
  return %back, %local : tensor<64x32xf32>, tensor<4xi32>
}

// The allgather and replicated dispatchers: masks travel too, and each member
// keeps its own experts' entries.
// CHECK-LABEL: func.func @local_dispatch
func.func @local_dispatch(%idx: tensor<16x2xi32>, %keep: tensor<16x2xi1>)
    -> (tensor<32x2xi1>, tensor<16x2xi32>, tensor<16x2xi1>, tensor<16x2xi32>) {
  // CHECK: moe.all_gather %{{.*}} group = ep size = 2 : tensor<16x2xi1> -> tensor<32x2xi1>
  %all = moe.all_gather %keep group = ep size = 2 : tensor<16x2xi1> -> tensor<32x2xi1>
  // CHECK: moe.local_experts %{{.*}}, %{{.*}} group = ep size = 2 experts = 8 : tensor<16x2xi32>, tensor<16x2xi1> -> tensor<16x2xi32>, tensor<16x2xi1>
  %l, %k = moe.local_experts %idx, %keep group = ep size = 2 experts = 8
      : tensor<16x2xi32>, tensor<16x2xi1> -> tensor<16x2xi32>, tensor<16x2xi1>
  // CHECK: moe.local_experts %{{.*}} group = ep size = 4 experts = 8 : tensor<16x2xi32> -> tensor<16x2xi32>, tensor<16x2xi1>
  %l2, %k2 = moe.local_experts %idx group = ep size = 4 experts = 8 : tensor<16x2xi32> -> tensor<16x2xi32>, tensor<16x2xi1>
  return %all, %l, %k, %l2 : tensor<32x2xi1>, tensor<16x2xi32>, tensor<16x2xi1>, tensor<16x2xi32>
}

// The backward ops of routing and the router losses.
// CHECK-LABEL: func.func @routing_backward
func.func @routing_backward(%dw: tensor<16x2xf32>, %l: tensor<16x8xf32>, %i: tensor<16x2xi32>,
                            %dw1: tensor<16x1xf32>, %i1: tensor<16x1xi32>, %keep: tensor<16x8xi1>,
                            %dloss: tensor<f32>) {
  // CHECK: moe.topk_grad %{{.*}}, %{{.*}}, %{{.*}} softmax = post : tensor<16x2xf32>, tensor<16x8xf32>, tensor<16x2xi32>
  %0 = moe.topk_grad %dw, %l, %i softmax = post : tensor<16x2xf32>, tensor<16x8xf32>, tensor<16x2xi32>
  // CHECK: moe.topk_grad %{{.*}}, %{{.*}}, %{{.*}} softmax = pre : tensor<16x1xf32>, tensor<16x8xf32>, tensor<16x1xi32>
  %1 = moe.topk_grad %dw1, %l, %i1 softmax = pre : tensor<16x1xf32>, tensor<16x8xf32>, tensor<16x1xi32>
  // CHECK: moe.sinkhorn_grad %{{.*}}, %{{.*}}, %{{.*}} : tensor<16x1xf32>, tensor<16x8xf32>, tensor<16x1xi32>
  %2 = moe.sinkhorn_grad %dw1, %l, %i1 : tensor<16x1xf32>, tensor<16x8xf32>, tensor<16x1xi32>
  // CHECK: moe.expert_choice_grad %{{.*}}, %{{.*}}, %{{.*}} : tensor<16x8xf32>, tensor<16x8xi1>
  %3 = moe.expert_choice_grad %l, %l, %keep : tensor<16x8xf32>, tensor<16x8xi1>
  // CHECK: moe.aux_loss_grad %{{.*}}, %{{.*}}, %{{.*}} coeff = 1.000000e-02 : tensor<16x8xf32>, tensor<16x2xi32>
  %4 = moe.aux_loss_grad %dloss, %l, %i coeff = 1.0e-2 : tensor<16x8xf32>, tensor<16x2xi32>
  // CHECK: moe.aux_loss_grad %{{.*}}, %{{.*}}, %{{.*}} coeff = 1.000000e-02 seq_length = 8 : tensor<16x8xf32>, tensor<16x2xi32>
  %5 = moe.aux_loss_grad %dloss, %l, %i coeff = 1.0e-2 seq_length = 8 : tensor<16x8xf32>, tensor<16x2xi32>
  // CHECK: moe.z_loss_grad %{{.*}}, %{{.*}} coeff = 1.000000e-03 : tensor<16x8xf32>
  %6 = moe.z_loss_grad %dloss, %l coeff = 1.0e-3 : tensor<16x8xf32>
  return
}

// The backward ops of dispatch and the grouped GEMMs.
// CHECK-LABEL: func.func @dispatch_backward
func.func @dispatch_backward(%drows: tensor<32x64xf32>, %map: tensor<16x2xi32>, %dy: tensor<16x64xf32>,
                             %rows: tensor<32x64xf32>, %w: tensor<16x2xf32>, %dh: tensor<32x128xf32>,
                             %w1: tensor<8x128x64xf32>, %sizes: tensor<8xi32>, %hb: tensor<32x64xbf16>) {
  // CHECK: moe.permute_grad %{{.*}}, %{{.*}} : tensor<32x64xf32>, tensor<16x2xi32> -> tensor<16x64xf32>
  %0 = moe.permute_grad %drows, %map : tensor<32x64xf32>, tensor<16x2xi32> -> tensor<16x64xf32>
  // CHECK: %{{.*}}, %{{.*}} = moe.unpermute_grad %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : tensor<16x64xf32>, tensor<32x64xf32>, tensor<16x2xi32>, tensor<16x2xf32>
  %1:2 = moe.unpermute_grad %dy, %rows, %map, %w : tensor<16x64xf32>, tensor<32x64xf32>, tensor<16x2xi32>, tensor<16x2xf32>
  // CHECK: moe.grouped_matmul_grad_input %{{.*}}, %{{.*}}, %{{.*}} : tensor<32x128xf32>, tensor<8x128x64xf32>, tensor<8xi32> -> tensor<32x64xf32>
  %2 = moe.grouped_matmul_grad_input %dh, %w1, %sizes : tensor<32x128xf32>, tensor<8x128x64xf32>, tensor<8xi32> -> tensor<32x64xf32>
  // CHECK: moe.grouped_matmul_grad_weight %{{.*}}, %{{.*}}, %{{.*}} : tensor<32x128xf32>, tensor<32x64xf32>, tensor<8xi32> -> tensor<8x128x64xf32>
  %3 = moe.grouped_matmul_grad_weight %dh, %rows, %sizes : tensor<32x128xf32>, tensor<32x64xf32>, tensor<8xi32> -> tensor<8x128x64xf32>
  // CHECK: moe.grouped_matmul_grad_weight %{{.*}}, %{{.*}}, %{{.*}} accumulate %{{.*}} : tensor<32x128xf32>, tensor<32x64xf32>, tensor<8xi32> -> tensor<8x128x64xf32>
  %acc = moe.grouped_matmul_grad_weight %dh, %rows, %sizes accumulate %w1 : tensor<32x128xf32>, tensor<32x64xf32>, tensor<8xi32> -> tensor<8x128x64xf32>
  // bf16 rows keep their type.
  // CHECK: moe.permute_grad %{{.*}}, %{{.*}} : tensor<32x64xbf16>, tensor<16x2xi32> -> tensor<16x64xbf16>
  %4 = moe.permute_grad %hb, %map : tensor<32x64xbf16>, tensor<16x2xi32> -> tensor<16x64xbf16>
  return
}

// CHECK-LABEL: func.func @forward_backward
// CHECK: moe.begin_backward{{$}}
func.func @forward_backward() {
  moe.begin_backward
  return
}
