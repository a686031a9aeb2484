//===- Validate.cpp - checks that relate several keys ---------------------===//

#include "moe/Frontend/Frontend.h"

#include "llvm/Support/Format.h"

using namespace moe::frontend;

namespace {

/// Names keys as the format spells them and places errors where the key was
/// given (or at the description itself for a default).
class Checker {
public:
  Checker(const KeyTable &table, const KeyOrigins &origins,
          const SourceLoc &origin, Diagnostics &diag)
      : table(table), origins(origins), origin(origin), diag(diag) {}

  std::string key(llvm::StringRef field) const {
    auto it = origins.find(field);
    return it != origins.end() ? it->second.key : table.keyFor(field);
  }
  bool given(llvm::StringRef field) const { return origins.count(field); }
  SourceLoc where(llvm::StringRef field) const {
    auto it = origins.find(field);
    return it != origins.end() ? it->second.loc : origin;
  }
  void error(llvm::StringRef field, const llvm::Twine &message) {
    diag.error(where(field), message);
    ok = false;
  }

  void positive(llvm::StringRef field, int64_t value) {
    if (value > 0)
      return;
    if (!given(field))
      error(field, "'" + key(field) + "' is required");
    else
      error(field,
            "'" + key(field) + "' must be positive, got " + llvm::Twine(value));
  }
  void nonNegative(llvm::StringRef field, double value) {
    if (value < 0)
      error(field, "'" + key(field) + "' must be non-negative, got " +
                       formatNumber(value));
  }
  /// `field`'s value must divide `intoField`'s.
  void divides(llvm::StringRef field, int64_t value, llvm::StringRef intoField,
               int64_t into) {
    if (value > 0 && into % value != 0)
      error(field, "'" + key(field) + "' (" + llvm::Twine(value) +
                       ") does not divide '" + key(intoField) + "' (" +
                       llvm::Twine(into) + ")");
  }

  static std::string formatNumber(double value) {
    std::string text;
    llvm::raw_string_ostream(text) << llvm::format("%g", value);
    return text;
  }

  bool ok = true;

private:
  const KeyTable &table;
  const KeyOrigins &origins;
  const SourceLoc &origin;
  Diagnostics &diag;
};

} // namespace

bool moe::frontend::validateConfig(const ModelConfig &config,
                                   const KeyTable &table,
                                   const KeyOrigins &origins,
                                   const SourceLoc &origin, Diagnostics &diag) {
  Checker check(table, origins, origin, diag);
  check.positive("num_layers", config.numLayers);
  check.positive("hidden_size", config.hiddenSize);
  check.positive("num_attention_heads", config.numAttentionHeads);
  check.positive("seq_length", config.seqLength);
  check.positive("vocab_size", config.vocabSize);
  check.positive("micro_batch_size", config.microBatchSize);
  if (!check.ok)
    return false;

  if (!config.kvChannels)
    check.divides("num_attention_heads", config.numAttentionHeads,
                  "hidden_size", config.hiddenSize);
  if (config.numQueryGroups)
    check.divides("num_query_groups", config.numQueryGroups,
                  "num_attention_heads", config.numAttentionHeads);
  if (config.positionEmbedding == PositionEmbedding::RoPE &&
      config.headDim() % 2 != 0)
    check.error("position_embedding_type",
                "rotary embeddings need an even head dimension, got " +
                    llvm::Twine(config.headDim()));
  if (config.positionEmbedding == PositionEmbedding::LearnedAbsolute &&
      config.maxPositionEmbeddings &&
      config.seqLength > config.maxPositionEmbeddings)
    check.error("seq_length",
                "'" + check.key("seq_length") + "' (" +
                    llvm::Twine(config.seqLength) + ") exceeds '" +
                    check.key("max_position_embeddings") + "' (" +
                    llvm::Twine(config.maxPositionEmbeddings) + ")");
  if (config.globalBatchSize)
    check.divides("micro_batch_size", config.microBatchSize,
                  "global_batch_size", config.globalBatchSize);
  if (config.minLr > config.lr)
    check.error("min_lr", "'" + check.key("min_lr") + "' (" +
                              Checker::formatNumber(config.minLr) +
                              ") exceeds '" + check.key("lr") + "' (" +
                              Checker::formatNumber(config.lr) + ")");
  check.nonNegative("lr", config.lr);
  check.nonNegative("weight_decay", config.weightDecay);
  check.nonNegative("clip_grad", config.clipGrad);

  if (config.numExperts < 0)
    check.error("num_experts", "'" + check.key("num_experts") +
                                   "' must be non-negative, got " +
                                   llvm::Twine(config.numExperts));
  if (config.numExperts <= 0)
    return check.ok;

  // Mixture of experts.
  if (config.addBiasLinear)
    check.error("add_bias_linear",
                "MoE experts have no bias terms; turn linear biases off ('" +
                    check.key("add_bias_linear") + "')");
  if (config.router != Router::ExpertChoice) {
    if (config.topK < 1)
      check.error("topk", "'" + check.key("topk") +
                              "' must be at least 1, got " +
                              llvm::Twine(config.topK));
    else if (config.topK > config.numExperts)
      check.error("topk", "'" + check.key("topk") + "' (" +
                              llvm::Twine(config.topK) + ") exceeds '" +
                              check.key("num_experts") + "' (" +
                              llvm::Twine(config.numExperts) + ")");
  }
  if (config.expertParallelSize < 1)
    check.error("expert_parallel_size",
                "'" + check.key("expert_parallel_size") +
                    "' must be at least 1, got " +
                    llvm::Twine(config.expertParallelSize));
  else if (config.numExperts % config.expertParallelSize != 0)
    check.error("expert_parallel_size",
                "'" + check.key("num_experts") + "' (" +
                    llvm::Twine(config.numExperts) + ") is not divisible by '" +
                    check.key("expert_parallel_size") + "' (" +
                    llvm::Twine(config.expertParallelSize) + ")");
  if (config.capacityFactor && *config.capacityFactor <= 0)
    check.error("capacity_factor",
                "'" + check.key("capacity_factor") +
                    "' must be positive, got " +
                    Checker::formatNumber(*config.capacityFactor));
  if (!config.capacityFactor) {
    for (llvm::StringRef field : {"drop_policy", "pad_to_capacity"})
      if (check.given(field))
        check.error(field, "'" + check.key(field) +
                               "' applies only with a capacity factor; set '" +
                               check.key("capacity_factor") + "' as well");
    if (config.router == Router::ExpertChoice)
      check.error("router", "expert-choice routing needs '" +
                                check.key("capacity_factor") +
                                "' (tokens per expert = T * factor / E)");
  }
  if (config.router == Router::Sinkhorn && config.capacityFactor)
    check.error("capacity_factor", "sinkhorn routing balances the load itself "
                                   "and does not combine with '" +
                                       check.key("capacity_factor") + "'");
  // Megatron applies the coefficient only to aux_loss and seq_aux_loss: with
  // a router that balances the load itself it would be dropped.
  if (config.router == Router::Sinkhorn && config.auxLossCoeff > 0 &&
      check.given("aux_loss_coeff"))
    check.error("aux_loss_coeff",
                "'" + check.key("aux_loss_coeff") + "' (" +
                    Checker::formatNumber(config.auxLossCoeff) +
                    ") has no loss to weigh: sinkhorn routing ('" +
                    check.key("load_balancing") +
                    "') balances the load itself; set it to 0");
  if (config.router == Router::ExpertChoice &&
      config.loadBalancing != LoadBalancing::None && config.auxLossCoeff > 0)
    check.error("load_balancing",
                "expert-choice routing balances the load by construction and "
                "takes no aux loss: set '" +
                    check.key("load_balancing") + "' to none or '" +
                    check.key("aux_loss_coeff") + "' to 0");
  check.nonNegative("aux_loss_coeff", config.auxLossCoeff);
  check.nonNegative("z_loss_coeff", config.zLossCoeff);
  if (config.inputJitterEps < 0 || config.inputJitterEps >= 1)
    check.error("input_jitter_eps",
                "'" + check.key("input_jitter_eps") +
                    "' must be in [0, 1), got " +
                    Checker::formatNumber(config.inputJitterEps));
  if (!config.moeLayers.empty() &&
      static_cast<int64_t>(config.moeLayers.size()) != config.numLayers)
    check.error("moe_layers", "the MoE layer pattern has " +
                                  llvm::Twine(config.moeLayers.size()) +
                                  " entries but '" + check.key("num_layers") +
                                  "' is " + llvm::Twine(config.numLayers));
  return check.ok;
}
