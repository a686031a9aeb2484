//===- LayerPlacement.h - which layers are MoE layers -----------*- C++ -*-===//
//
// Each description format has its own convention for placing MoE layers among
// dense ones; these functions state each one exactly. All return one flag per
// layer, true for an MoE layer.
//
//===----------------------------------------------------------------------===//

#ifndef MOE_FRONTEND_LAYERPLACEMENT_H
#define MOE_FRONTEND_LAYERPLACEMENT_H

#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace moe::frontend {

/// Megatron `--moe-layer-freq n`: layer i when i % n == 0 (0, n, 2n, ...).
std::vector<bool> megatronLayerFreq(int64_t numLayers, int64_t freq);

/// Hugging Face Qwen2-MoE `decoder_sparse_step n`: layer i when
/// (i + 1) % n == 0 and i is not in `mlp_only_layers`.
std::vector<bool> qwenSparseStep(int64_t numLayers, int64_t step,
                                 const std::vector<int64_t> &mlpOnlyLayers);

/// DeepSeek `first_k_dense_replace k`, `moe_layer_freq f`: layer i when
/// i >= k and i % f == 0.
std::vector<bool> deepseekLayers(int64_t numLayers, int64_t firstKDense,
                                 int64_t freq);

/// The minimal pretraining guide's `--moe-layer-interval n`: layer i when
/// i > 0 and i % n == 0 (interval 2 over 6 layers: dense, dense, MoE, dense,
/// MoE, dense).
std::vector<bool> minimalLayerInterval(int64_t numLayers, int64_t interval);

/// Flaxformer's sparse layouts with `numSparse` MoE layers: "top" (the last
/// ones), "bottom" (the first ones), "middle" (centred: L - n <= 2i < L + n)
/// and "mixed" (every L/n-th layer, ending on the last; n must divide L).
/// Returns std::nullopt and sets `error` for an unknown layout or a "mixed"
/// count that does not divide the layers.
std::optional<std::vector<bool>> flaxformerLayout(llvm::StringRef layout,
                                                  int64_t numLayers,
                                                  int64_t numSparse,
                                                  std::string &error);

/// Parses an explicit pattern as Megatron writes it, a Python list expression
/// of 0 (dense) and 1 (MoE): "[0,1,1,1]", "([0]*3+[1]*29)". Returns
/// std::nullopt and sets `error` (with the column) when it is malformed.
std::optional<std::vector<bool>> parseLayerPattern(llvm::StringRef text,
                                                   std::string &error);

} // namespace moe::frontend

#endif // MOE_FRONTEND_LAYERPLACEMENT_H
