//===- MegatronFormat.cpp - Megatron-LM pretrain_gpt.py flags -------------===//
//
// The flags of Megatron-LM's GPT pretraining, with its defaults: LayerNorm,
// GeLU, learned absolute positions, tied embeddings, biases, and the vocabulary
// padded to a multiple of 128 * tensor-parallel size.
//
//===----------------------------------------------------------------------===//

#include "CommonKeys.h"

using namespace moe::frontend;

namespace {

/// Flags whose meaning depends on other flags, resolved after all are read.
struct MegatronState {
  bool groupQueryAttention = false;
  int64_t numQueryGroups = 1;
  bool swiglu = false;
  bool noPositionEmbedding = false;
  bool bf16 = false, fp16 = false;
  std::optional<double> warmupFraction;
  PlacementKeys placement;
};

KeyTable megatronTable(MegatronState &state) {
  std::vector<KeySpec> specs = {
      // Model shape.
      intKey("--num-layers", "num_layers", &ModelConfig::numLayers),
      intKey("--hidden-size", "hidden_size", &ModelConfig::hiddenSize),
      intKey("--ffn-hidden-size", "ffn_hidden_size",
             &ModelConfig::ffnHiddenSize),
      intKey("--num-attention-heads", "num_attention_heads",
             &ModelConfig::numAttentionHeads),
      stateFlagKey("--group-query-attention", "", state.groupQueryAttention),
      customKey(
          "--num-query-groups", "num_query_groups", Arity::One,
          [&state](const ConfigEntry &entry, ModelConfig &, Diagnostics &diag) {
            std::optional<int64_t> value = toInt(entry, diag);
            if (value)
              state.numQueryGroups = *value;
            return value.has_value();
          }),
      intKey("--kv-channels", "kv_channels", &ModelConfig::kvChannels),
      intKey("--seq-length", "seq_length", &ModelConfig::seqLength),
      intKey("--max-position-embeddings", "max_position_embeddings",
             &ModelConfig::maxPositionEmbeddings),
      intKey("--vocab-size", "vocab_size", &ModelConfig::vocabSize),
      intKey("--make-vocab-size-divisible-by", "make_vocab_size_divisible_by",
             &ModelConfig::makeVocabSizeDivisibleBy),
      normalizationKey("--normalization"),
      floatKey("--norm-epsilon", "norm_epsilon", &ModelConfig::normEpsilon),
      stateFlagKey("--swiglu", "activation", state.swiglu),
      positionEmbeddingKey("--position-embedding-type"),
      stateFlagKey("--no-position-embedding", "", state.noPositionEmbedding),
      floatKey("--rotary-base", "rotary_base", &ModelConfig::rotaryBase),
      rotaryPercentKey("--rotary-percent"),
      flagKey("--untie-embeddings-and-output-weights", "tie_embeddings",
              &ModelConfig::tieEmbeddings, false),
      flagKey("--disable-bias-linear", "add_bias_linear",
              &ModelConfig::addBiasLinear, false),
      flagKey("--add-qkv-bias", "add_qkv_bias", &ModelConfig::addQKVBias, true),
      floatKey("--init-method-std", "init_method_std",
               &ModelConfig::initMethodStd),
      dropoutKey("--attention-dropout"),
      dropoutKey("--hidden-dropout"),

      // Mixture of experts.
      intKey("--num-experts", "num_experts", &ModelConfig::numExperts),
      intKey("--moe-ffn-hidden-size", "moe_ffn_hidden_size",
             &ModelConfig::moeFfnHiddenSize),
      intKey("--moe-router-topk", "topk", &ModelConfig::topK),
      loadBalancingKey("--moe-router-load-balancing-type"),
      routerTypeKey("--moe-router-type"),
      flagKey("--moe-router-pre-softmax", "router_pre_softmax",
              &ModelConfig::routerPreSoftmax, true),
      floatKey("--moe-aux-loss-coeff", "aux_loss_coeff",
               &ModelConfig::auxLossCoeff),
      floatKey("--moe-z-loss-coeff", "z_loss_coeff", &ModelConfig::zLossCoeff),
      floatKey("--moe-input-jitter-eps", "input_jitter_eps",
               &ModelConfig::inputJitterEps),
      ignoredKey("--moe-token-dropping", Arity::None),
      dispatcherKey("--moe-token-dispatcher-type"),
      flagKey("--moe-per-layer-logging", "per_layer_logging",
              &ModelConfig::perLayerLogging, true),
      optionalFloatKey("--moe-expert-capacity-factor", "capacity_factor",
                       &ModelConfig::capacityFactor),
      flagKey("--moe-pad-expert-input-to-capacity", "pad_to_capacity",
              &ModelConfig::padToCapacity, true),
      dropPolicyKey("--moe-token-drop-policy"),
      flagKey("--moe-layer-recompute", "layer_recompute",
              &ModelConfig::layerRecompute, true),
      flagKey("--moe-grouped-gemm", "grouped_gemm", &ModelConfig::groupedGemm,
              true),
      state.placement.freqKey("--moe-layer-freq"),
      state.placement.layoutKey("--moe-sparse-layout"),
      state.placement.numSparseKey("--moe-num-sparse-layers"),
      intKey("--moe-shared-expert-intermediate-size", "shared_expert_size",
             &ModelConfig::sharedExpertFfnHiddenSize),
      ignoredKey("--moe-shared-expert-overlap", Arity::None),
      intKey("--expert-model-parallel-size", "expert_parallel_size",
             &ModelConfig::expertParallelSize),

      // Training.
      intKey("--micro-batch-size", "micro_batch_size",
             &ModelConfig::microBatchSize),
      intKey("--global-batch-size", "global_batch_size",
             &ModelConfig::globalBatchSize),
      intKey("--train-iters", "train_iters", &ModelConfig::trainIters),
      floatKey("--lr", "lr", &ModelConfig::lr),
      floatKey("--min-lr", "min_lr", &ModelConfig::minLr),
      decayStyleKey("--lr-decay-style"),
      intKey("--lr-warmup-iters", "lr_warmup_iters",
             &ModelConfig::lrWarmupIters),
      customKey(
          "--lr-warmup-fraction", "lr_warmup_iters", Arity::One,
          [&state](const ConfigEntry &entry, ModelConfig &, Diagnostics &diag) {
            state.warmupFraction = toFloat(entry, diag);
            return state.warmupFraction.has_value();
          }),
      intKey("--lr-decay-iters", "lr_decay_iters", &ModelConfig::lrDecayIters),
      floatKey("--weight-decay", "weight_decay", &ModelConfig::weightDecay),
      floatKey("--adam-beta1", "adam_beta1", &ModelConfig::adamBeta1),
      floatKey("--adam-beta2", "adam_beta2", &ModelConfig::adamBeta2),
      floatKey("--adam-eps", "adam_eps", &ModelConfig::adamEps),
      floatKey("--clip-grad", "clip_grad", &ModelConfig::clipGrad),
      intKey("--seed", "seed", &ModelConfig::seed),
      stateFlagKey("--bf16", "precision", state.bf16),
      stateFlagKey("--fp16", "precision", state.fp16),
      intKey("--tensor-model-parallel-size", "tensor_parallel_size",
             &ModelConfig::tensorParallelSize),
      intKey("--pipeline-model-parallel-size", "pipeline_parallel_size",
             &ModelConfig::pipelineParallelSize),

      // Data, logging and checkpoints.
      pathListKey("--data-path", "data_path", &ModelConfig::dataPath),
      textKey("--split", "split", &ModelConfig::split),
      textKey("--tokenizer-type", "tokenizer_type",
              &ModelConfig::tokenizerType),
      textKey("--tokenizer-model", "tokenizer_model",
              &ModelConfig::tokenizerModel),
      intKey("--log-interval", "log_interval", &ModelConfig::logInterval),
      intKey("--eval-interval", "eval_interval", &ModelConfig::evalInterval),
      intKey("--eval-iters", "eval_iters", &ModelConfig::evalIters),
      intKey("--save-interval", "save_interval", &ModelConfig::saveInterval),
      textKey("--save", "save", &ModelConfig::save),
      textKey("--load", "load", &ModelConfig::load),
      textKey("--tensorboard-dir", "tensorboard_dir",
              &ModelConfig::tensorboardDir),

      // Accepted for compatibility; they do not change the compiled model.
      ignoredKey("--use-mcore-models", Arity::None),
      ignoredKey("--no-masked-softmax-fusion", Arity::None),
      ignoredKey("--use-flash-attn", Arity::None),
      ignoredKey("--sequence-parallel", Arity::None),
      flagKey("--use-distributed-optimizer", "distributed_optimizer",
              &ModelConfig::distributedOptimizer, true),
      ignoredKey("--overlap-grad-reduce", Arity::None),
      ignoredKey("--overlap-param-gather", Arity::None),
      ignoredKey("--no-load-optim", Arity::None),
      ignoredKey("--no-load-rng", Arity::None),
      ignoredKey("--distributed-backend"),
      ignoredKey("--wandb-project"),
      ignoredKey("--wandb-exp-name"),
  };
  return KeyTable(std::move(specs), "flag");
}

/// Megatron's derived defaults and flag interactions.
bool finishMegatron(ModelConfig &config, const MegatronState &state,
                    KeyOrigins &origins, const SourceLoc &origin,
                    Diagnostics &diag) {
  if (state.groupQueryAttention)
    config.numQueryGroups = state.numQueryGroups;
  else if (origins.count("num_query_groups"))
    diag.warning(origins["num_query_groups"].loc,
                 "'--num-query-groups' has no effect without "
                 "'--group-query-attention'");
  if (state.swiglu)
    config.activation = Activation::SwiGLU;
  // Megatron keeps a SwiGLU MLP near the parameter count of a 4h GeLU one.
  if (!config.ffnHiddenSize && config.hiddenSize)
    config.ffnHiddenSize = state.swiglu
                               ? (4 * config.hiddenSize * 2 / 3) / 64 * 64
                               : 4 * config.hiddenSize;
  if (state.noPositionEmbedding &&
      config.positionEmbedding == PositionEmbedding::LearnedAbsolute)
    config.positionEmbedding = PositionEmbedding::None;
  if (state.bf16 && state.fp16) {
    diag.error(origins["precision"].loc, "'--bf16' and '--fp16' exclude each "
                                         "other");
    return false;
  }
  config.precision = state.bf16   ? Precision::BF16
                     : state.fp16 ? Precision::FP16
                                  : Precision::FP32;
  // lr_decay_iters defaults to train_iters; the schedule takes the length of
  // the run when it starts, but a warmup fraction needs it now.
  if (state.warmupFraction)
    config.lrWarmupIters = static_cast<int64_t>(
        *state.warmupFraction *
        (config.lrDecayIters ? config.lrDecayIters : config.trainIters));
  if (!state.placement.resolve(config, origins, diag))
    return false;
  if (!resolveTop1Softmax(config, origins, origin, "--moe-router-pre-softmax",
                          diag))
    return false;
  return resolveVocabulary(config, "--vocab-size", "--tokenizer-type", origin,
                           diag);
}

} // namespace

bool moe::frontend::isMegatronFlag(llvm::StringRef flag) {
  MegatronState state;
  return megatronTable(state).find(flag) != nullptr;
}

std::optional<ModelConfig>
moe::frontend::loadMegatron(const std::vector<Token> &flags,
                            const SourceLoc &origin, const LoadOptions &options,
                            Diagnostics &diag) {
  MegatronState state;
  KeyTable table = megatronTable(state);
  std::optional<std::vector<ConfigEntry>> entries =
      parseFlags(flags, table, diag);
  if (!entries)
    return std::nullopt;
  ModelConfig config;
  config.makeVocabSizeDivisibleBy = 128;
  KeyOrigins origins;
  if (!table.apply(*entries, config, origins, diag))
    return std::nullopt;
  options.applyTo(config, origins);
  if (!finishMegatron(config, state, origins, origin, diag) ||
      !validateConfig(config, table, origins, origin, diag))
    return std::nullopt;
  return config;
}
