//===- Parameters.h - the trainable tensors of a model ----------*- C++ -*-===//
//
// The one list of a model's parameters, in the order the forward graph takes
// them, with Hugging Face names (Mixtral's for the MoE blocks, Llama's for the
// rest). The graph builder makes one argument per entry and the summary counts
// them, so both always agree.
//
//===----------------------------------------------------------------------===//

#ifndef MOE_FRONTEND_PARAMETERS_H
#define MOE_FRONTEND_PARAMETERS_H

#include "moe/Frontend/ModelConfig.h"

#include "llvm/Support/raw_ostream.h"

namespace moe::frontend {

enum class ParameterRole {
  Embedding,    // token or position table (looked up, not multiplied)
  Attention,    // q/k/v/o projections and their biases
  Norm,         // norm weights and biases
  DenseMLP,     // the MLP of a dense layer
  Router,       // the gate of an MoE layer
  Expert,       // stacked routed-expert weights, [E, out, in]
  SharedExpert, // an MoE layer's always-active expert and its gate
  Head,         // the output projection (absent when tied)
};

struct ParameterInfo {
  /// A Hugging Face name; stacked expert weights read
  /// "model.layers.3.block_sparse_moe.experts.{expert}.w1.weight", the name of
  /// expert e's slice with {expert} replaced by e.
  std::string name;
  std::vector<int64_t> shape;
  ParameterRole role;
  int64_t layer = -1; // -1 outside the decoder layers
  bool isBias = false;

  int64_t numElements() const {
    int64_t count = 1;
    for (int64_t dim : shape)
      count *= dim;
    return count;
  }
};

/// The parameters of `config`'s model, in graph argument order.
std::vector<ParameterInfo> listParameters(const ModelConfig &config);

/// Prints the parameter counts (total, and active per token) and the forward
/// FLOPs per token.
void printSummary(const ModelConfig &config, llvm::raw_ostream &os);

} // namespace moe::frontend

#endif // MOE_FRONTEND_PARAMETERS_H
