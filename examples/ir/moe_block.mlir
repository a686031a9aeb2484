// One Mixtral-style MoE block, written by hand in the moe and nn dialects:
// 2 sequences of 8 tokens (T = 16), hidden 64, 8 experts of FFN width 128,
// top-2 routing with the softmax after top-k, aux loss and z-loss.
//
//   moe-opt examples/ir/moe_block.mlir
func.func @moe_block(%x: tensor<16x64xf32>, %norm: tensor<64xf32>, %router: tensor<8x64xf32>,
                     %w1: tensor<8x128x64xf32>, %w3: tensor<8x128x64xf32>,
                     %w2: tensor<8x64x128xf32>) -> (tensor<16x64xf32>, tensor<f32>, tensor<f32>) {
  %h = nn.rmsnorm %x, %norm eps = 1.0e-5 : tensor<16x64xf32>, tensor<64xf32>
  %logits = moe.router %h, %router : tensor<16x64xf32>, tensor<8x64xf32> -> tensor<16x8xf32>
  %z = moe.z_loss %logits coeff = 1.0e-3 : tensor<16x8xf32>
  %probs, %experts = moe.topk %logits k = 2 softmax = post
      : tensor<16x8xf32> -> tensor<16x2xf32>, tensor<16x2xi32>
  %aux = moe.aux_loss %logits, %experts coeff = 1.0e-2 : tensor<16x8xf32>, tensor<16x2xi32>
  %rows, %row_map, %sizes = moe.permute %h, %experts
      : tensor<16x64xf32>, tensor<16x2xi32> -> tensor<32x64xf32>, tensor<8xi32>
  %gate = moe.grouped_matmul %rows, %w1, %sizes
      : tensor<32x64xf32>, tensor<8x128x64xf32>, tensor<8xi32> -> tensor<32x128xf32>
  %up = moe.grouped_matmul %rows, %w3, %sizes
      : tensor<32x64xf32>, tensor<8x128x64xf32>, tensor<8xi32> -> tensor<32x128xf32>
  %act = nn.swiglu %gate, %up : tensor<32x128xf32>
  %down = moe.grouped_matmul %act, %w2, %sizes
      : tensor<32x128xf32>, tensor<8x64x128xf32>, tensor<8xi32> -> tensor<32x64xf32>
  %y = moe.unpermute %down, %row_map, %probs
      : tensor<32x64xf32>, tensor<16x2xi32>, tensor<16x2xf32> -> tensor<16x64xf32>
  %out = nn.add %x, %y : tensor<16x64xf32>
  return %out, %aux, %z : tensor<16x64xf32>, tensor<f32>, tensor<f32>
}
