//===- MinimalFormat.cpp - the minimal MoE pretraining guide's flags ------===//
//
// The guide's model is GPT-2-like by default (LayerNorm, GeLU MLP of 4h,
// learned positions, tied embeddings; no biases, as nanoGPT's bias=False);
// --norm, --activation, --position-embedding, --num-kv-heads and
// --untie-embeddings make it Llama-like. MoE layers come every
// --moe-layer-interval layers, skipping layer 0; the router takes the softmax
// over the top-k logits. Expert parallelism follows --tensor-parallel-size
// unless --expert-parallel-size is given.
//
//===----------------------------------------------------------------------===//

#include "CommonKeys.h"

#include "moe/Frontend/LayerPlacement.h"

using namespace moe::frontend;

namespace {

struct MinimalState {
  int64_t layerInterval = 2;
  int64_t numMicrobatches = 1;
};

KeyTable minimalTable(MinimalState &state) {
  std::vector<KeySpec> specs = {
      intKey("--vocab-size", "vocab_size", &ModelConfig::vocabSize),
      intKey("--hidden-size", "hidden_size", &ModelConfig::hiddenSize),
      intKey("--num-layers", "num_layers", &ModelConfig::numLayers),
      intKey("--num-attention-heads", "num_attention_heads",
             &ModelConfig::numAttentionHeads),
      intKey("--ffn-hidden-size", "ffn_hidden_size",
             &ModelConfig::ffnHiddenSize),
      intKey("--seq-length", "seq_length", &ModelConfig::seqLength),
      intKey("--num-kv-heads", "num_query_groups",
             &ModelConfig::numQueryGroups),
      enumKey("--norm", "normalization", &ModelConfig::normalization,
              {{"layernorm", Normalization::LayerNorm},
               {"rmsnorm", Normalization::RMSNorm}}),
      floatKey("--norm-eps", "norm_epsilon", &ModelConfig::normEpsilon),
      enumKey("--activation", "activation", &ModelConfig::activation,
              {{"gelu", Activation::GeLU}, {"swiglu", Activation::SwiGLU}}),
      enumKey("--position-embedding", "position_embedding_type",
              &ModelConfig::positionEmbedding,
              {{"learned", PositionEmbedding::LearnedAbsolute},
               {"rope", PositionEmbedding::RoPE}}),
      floatKey("--rope-theta", "rotary_base", &ModelConfig::rotaryBase),
      flagKey("--untie-embeddings", "tie_embeddings",
              &ModelConfig::tieEmbeddings, false),

      intKey("--num-experts", "num_experts", &ModelConfig::numExperts),
      intKey("--num-experts-per-token", "topk", &ModelConfig::topK),
      customKey(
          "--moe-layer-interval", "moe_layers", Arity::One,
          [&state](const ConfigEntry &entry, ModelConfig &, Diagnostics &diag) {
            std::optional<int64_t> value = toInt(entry, diag);
            if (!value)
              return false;
            if (*value < 1) {
              diag.error(entry.value.loc,
                         "'--moe-layer-interval' must be at least 1, "
                         "got " +
                             entry.value.text);
              return false;
            }
            state.layerInterval = *value;
            return true;
          }),
      floatKey("--router-aux-loss-coef", "aux_loss_coeff",
               &ModelConfig::auxLossCoeff),
      floatKey("--router-z-loss-coef", "z_loss_coeff",
               &ModelConfig::zLossCoeff),
      intKey("--expert-parallel-size", "expert_parallel_size",
             &ModelConfig::expertParallelSize),
      intKey("--tensor-parallel-size", "tensor_parallel_size",
             &ModelConfig::tensorParallelSize),
      intKey("--pipeline-parallel-size", "pipeline_parallel_size",
             &ModelConfig::pipelineParallelSize),
      customKey(
          "--num-microbatches", "global_batch_size", Arity::One,
          [&state](const ConfigEntry &entry, ModelConfig &, Diagnostics &diag) {
            std::optional<int64_t> value = toInt(entry, diag);
            if (value)
              state.numMicrobatches = *value;
            return value.has_value();
          }),

      intKey("--batch-size", "micro_batch_size", &ModelConfig::microBatchSize),
      intKey("--max-steps", "train_iters", &ModelConfig::trainIters),
      floatKey("--lr", "lr", &ModelConfig::lr),
      floatKey("--min-lr", "min_lr", &ModelConfig::minLr),
      intKey("--warmup-steps", "lr_warmup_iters", &ModelConfig::lrWarmupIters),
      floatKey("--weight-decay", "weight_decay", &ModelConfig::weightDecay),
      floatKey("--grad-clip", "clip_grad", &ModelConfig::clipGrad),
      intKey("--seed", "seed", &ModelConfig::seed),
      pathListKey("--data-path", "data_path", &ModelConfig::dataPath),
      intKey("--log-interval", "log_interval", &ModelConfig::logInterval),
      intKey("--eval-interval", "eval_interval", &ModelConfig::evalInterval),
      intKey("--eval-iters", "eval_iters", &ModelConfig::evalIters),
      intKey("--save-interval", "save_interval", &ModelConfig::saveInterval),
      textKey("--save-dir", "save", &ModelConfig::save),
  };
  return KeyTable(std::move(specs), "flag");
}

/// The guide's defaults, before any flag.
ModelConfig minimalDefaults() {
  ModelConfig config;
  config.addBiasLinear = false;
  config.vocabSize = 32000;
  config.hiddenSize = 768;
  config.numLayers = 12;
  config.numAttentionHeads = 12;
  config.seqLength = 1024;
  config.topK = 2;
  config.auxLossCoeff = 0.01;
  config.zLossCoeff = 0.001;
  config.microBatchSize = 8;
  config.trainIters = 1000;
  config.lr = 3e-4;
  config.minLr = 3e-5;
  config.lrWarmupIters = 100;
  config.lrDecayStyle = LRDecay::Cosine;
  config.weightDecay = 0.1;
  config.seed = 42;
  config.logInterval = 10;
  return config;
}

} // namespace

bool moe::frontend::isMinimalFlag(llvm::StringRef flag) {
  MinimalState state;
  return minimalTable(state).find(flag) != nullptr;
}

std::optional<ModelConfig>
moe::frontend::loadMinimal(const std::vector<Token> &flags,
                           const SourceLoc &origin, const LoadOptions &options,
                           Diagnostics &diag) {
  MinimalState state;
  KeyTable table = minimalTable(state);
  std::optional<std::vector<ConfigEntry>> entries =
      parseFlags(flags, table, diag);
  if (!entries)
    return std::nullopt;
  ModelConfig config = minimalDefaults();
  KeyOrigins origins;
  if (!table.apply(*entries, config, origins, diag))
    return std::nullopt;
  options.applyTo(config, origins);
  if (!origins.count("expert_parallel_size")) {
    config.expertParallelSize = config.tensorParallelSize;
    if (origins.count("tensor_parallel_size"))
      origins["expert_parallel_size"] = origins["tensor_parallel_size"];
  }
  config.dispatcher = Dispatcher::Replicated;
  config.maxPositionEmbeddings = config.seqLength;
  config.globalBatchSize = config.microBatchSize * state.numMicrobatches;
  if (config.numLayers > 0)
    config.moeLayers =
        minimalLayerInterval(config.numLayers, state.layerInterval);
  // The guide's router normalises over the top-k logits.
  resolveTop1Softmax(config, origins, origin, std::nullopt, diag);
  if (!validateConfig(config, table, origins, origin, diag))
    return std::nullopt;
  return config;
}
