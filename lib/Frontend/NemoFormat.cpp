//===- NemoFormat.cpp - NeMo megatron_gpt YAML ----------------------------===//
//
// NeMo's GPT configuration: `model.*` holds the Megatron-Core arguments under
// NeMo's spellings, `trainer.*` the PyTorch Lightning trainer, `exp_manager.*`
// the experiment logging (which does not change the model and is skipped).
//
//===----------------------------------------------------------------------===//

#include "CommonKeys.h"

#include "llvm/ADT/STLExtras.h"

using namespace moe::frontend;

namespace {

struct NemoState {
  std::optional<ConfigEntry> activation;
  std::optional<ConfigEntry> precision;
  std::optional<ConfigEntry> schedule;
  std::optional<ConfigEntry> optimizer;
  std::optional<ConfigEntry> betas;
  PlacementKeys placement;
};

KeyTable nemoTable(NemoState &state) {
  std::vector<KeySpec> specs = {
      // Model shape.
      intKey("model.num_layers", "num_layers", &ModelConfig::numLayers),
      intKey("model.hidden_size", "hidden_size", &ModelConfig::hiddenSize),
      intKey("model.ffn_hidden_size", "ffn_hidden_size",
             &ModelConfig::ffnHiddenSize),
      intKey("model.num_attention_heads", "num_attention_heads",
             &ModelConfig::numAttentionHeads),
      nullableIntKey("model.num_query_groups", "num_query_groups",
                     &ModelConfig::numQueryGroups),
      intKey("model.kv_channels", "kv_channels", &ModelConfig::kvChannels),
      intKey("model.encoder_seq_length", "seq_length", &ModelConfig::seqLength),
      intKey("model.max_position_embeddings", "max_position_embeddings",
             &ModelConfig::maxPositionEmbeddings),
      intKey("model.make_vocab_size_divisible_by",
             "make_vocab_size_divisible_by",
             &ModelConfig::makeVocabSizeDivisibleBy),
      normalizationKey("model.normalization"),
      floatKey("model.layernorm_epsilon", "norm_epsilon",
               &ModelConfig::normEpsilon),
      recordKey("model.activation", "activation", state.activation),
      positionEmbeddingKey("model.position_embedding_type"),
      floatKey("model.rotary_base", "rotary_base", &ModelConfig::rotaryBase),
      rotaryPercentKey("model.rotary_percentage"),
      boolKey("model.share_embeddings_and_output_weights", "tie_embeddings",
              &ModelConfig::tieEmbeddings),
      boolKey("model.bias", "add_bias_linear", &ModelConfig::addBiasLinear),
      boolKey("model.qkv_bias", "add_qkv_bias", &ModelConfig::addQKVBias),
      floatKey("model.init_method_std", "init_method_std",
               &ModelConfig::initMethodStd),
      dropoutKey("model.hidden_dropout"),
      dropoutKey("model.attention_dropout"),
      dropoutKey("model.ffn_dropout"),
      intKey("model.micro_batch_size", "micro_batch_size",
             &ModelConfig::microBatchSize),
      intKey("model.global_batch_size", "global_batch_size",
             &ModelConfig::globalBatchSize),
      intKey("model.seed", "seed", &ModelConfig::seed),
      intKey("model.tensor_model_parallel_size", "tensor_parallel_size",
             &ModelConfig::tensorParallelSize),
      intKey("model.pipeline_model_parallel_size", "pipeline_parallel_size",
             &ModelConfig::pipelineParallelSize),
      intKey("model.expert_model_parallel_size", "expert_parallel_size",
             &ModelConfig::expertParallelSize),

      // Mixture of experts.
      nullableIntKey("model.num_moe_experts", "num_experts",
                     &ModelConfig::numExperts),
      intKey("model.moe_ffn_hidden_size", "moe_ffn_hidden_size",
             &ModelConfig::moeFfnHiddenSize),
      intKey("model.moe_router_topk", "topk", &ModelConfig::topK),
      loadBalancingKey("model.moe_router_load_balancing_type"),
      routerTypeKey("model.moe_router_type"),
      boolKey("model.moe_router_pre_softmax", "router_pre_softmax",
              &ModelConfig::routerPreSoftmax),
      floatKey("model.moe_aux_loss_coeff", "aux_loss_coeff",
               &ModelConfig::auxLossCoeff),
      floatKey("model.moe_z_loss_coeff", "z_loss_coeff",
               &ModelConfig::zLossCoeff),
      customKey(
          "model.moe_input_jitter_eps", "input_jitter_eps", Arity::One,
          [](const ConfigEntry &entry, ModelConfig &config, Diagnostics &diag) {
            if (entry.value.kind == RawValue::Kind::Null)
              return true;
            std::optional<double> value = toFloat(entry, diag);
            if (value)
              config.inputJitterEps = *value;
            return value.has_value();
          }),
      ignoredKey("model.moe_token_dropping"),
      dispatcherKey("model.moe_token_dispatcher_type"),
      boolKey("model.moe_per_layer_logging", "per_layer_logging",
              &ModelConfig::perLayerLogging),
      optionalFloatKey("model.moe_expert_capacity_factor", "capacity_factor",
                       &ModelConfig::capacityFactor),
      boolKey("model.moe_pad_expert_input_to_capacity", "pad_to_capacity",
              &ModelConfig::padToCapacity),
      dropPolicyKey("model.moe_token_drop_policy"),
      boolKey("model.moe_layer_recompute", "layer_recompute",
              &ModelConfig::layerRecompute),
      boolKey("model.moe_grouped_gemm", "grouped_gemm",
              &ModelConfig::groupedGemm),
      state.placement.freqKey("model.moe_layer_freq"),
      state.placement.layoutKey("model.moe_sparse_layout"),
      state.placement.numSparseKey("model.moe_num_sparse_layers"),
      intKey("model.moe_shared_expert_intermediate_size", "shared_expert_size",
             &ModelConfig::sharedExpertFfnHiddenSize),

      // Tokenizer and data.
      textKey("model.tokenizer.library", "tokenizer_type",
              &ModelConfig::tokenizerType),
      ignoredKey("model.tokenizer.type"),
      textKey("model.tokenizer.model", "tokenizer_model",
              &ModelConfig::tokenizerModel),
      intKey("model.tokenizer.vocab_size", "vocab_size",
             &ModelConfig::vocabSize),
      pathListKey("model.data.data_prefix", "data_path",
                  &ModelConfig::dataPath),
      textKey("model.data.splits_string", "split", &ModelConfig::split),
      intKey("model.data.seq_length", "seq_length", &ModelConfig::seqLength),
      ignoredKey("model.data.num_workers"),
      ignoredKey("model.data.data_impl"),
      ignoredKey("model.data.index_mapping_dir"),

      // Optimizer.
      recordKey("model.optim.name", "optimizer", state.optimizer),
      floatKey("model.optim.lr", "lr", &ModelConfig::lr),
      floatKey("model.optim.weight_decay", "weight_decay",
               &ModelConfig::weightDecay),
      recordKey("model.optim.betas", "adam_beta1", state.betas),
      floatKey("model.optim.eps", "adam_eps", &ModelConfig::adamEps),
      recordKey("model.optim.sched.name", "lr_decay_style", state.schedule),
      intKey("model.optim.sched.warmup_steps", "lr_warmup_iters",
             &ModelConfig::lrWarmupIters),
      floatKey("model.optim.sched.min_lr", "min_lr", &ModelConfig::minLr),
      intKey("model.optim.sched.max_steps", "lr_decay_iters",
             &ModelConfig::lrDecayIters),
      ignoredKey("model.optim.sched.constant_steps"),

      // Trainer.
      intKey("trainer.max_steps", "train_iters", &ModelConfig::trainIters),
      recordKey("trainer.precision", "precision", state.precision),
      intKey("trainer.log_every_n_steps", "log_interval",
             &ModelConfig::logInterval),
      intKey("trainer.val_check_interval", "eval_interval",
             &ModelConfig::evalInterval),
      intKey("trainer.limit_val_batches", "eval_iters",
             &ModelConfig::evalIters),
      floatKey("trainer.gradient_clip_val", "clip_grad",
               &ModelConfig::clipGrad),
      ignoredKey("trainer.devices"),
      ignoredKey("trainer.num_nodes"),
      ignoredKey("trainer.accelerator"),
      ignoredKey("trainer.logger"),
      ignoredKey("trainer.enable_checkpointing"),
      ignoredKey("trainer.use_distributed_sampler"),
      ignoredKey("trainer.max_epochs"),
      ignoredKey("trainer.max_time"),
      ignoredKey("trainer.limit_test_batches"),
      ignoredKey("trainer.benchmark"),
      ignoredKey("trainer.enable_model_summary"),
      ignoredKey("trainer.accumulate_grad_batches"),
      ignoredKey("name"),
  };
  return KeyTable(std::move(specs), "key");
}

bool finishNemo(ModelConfig &config, const NemoState &state,
                KeyOrigins &origins, const SourceLoc &origin,
                Diagnostics &diag) {
  if (state.activation) {
    llvm::StringRef value(state.activation->value.text);
    if (value == "swiglu" || value == "fast-swiglu") {
      config.activation = Activation::SwiGLU;
    } else if (value == "gelu") {
      config.activation = Activation::GeLU;
    } else {
      diag.error(state.activation->value.loc,
                 "'model.activation' must be one of gelu, swiglu, "
                 "fast-swiglu; got '" +
                     value + "'");
      return false;
    }
  }
  if (state.precision) {
    llvm::StringRef value(state.precision->value.text);
    if (value == "bf16" || value == "bf16-mixed") {
      config.precision = Precision::BF16;
    } else if (value == "16" || value == "16-mixed") {
      config.precision = Precision::FP16;
    } else if (value == "32" || value == "32-true") {
      config.precision = Precision::FP32;
    } else {
      diag.error(state.precision->value.loc,
                 "'trainer.precision' must be one of 32, bf16, bf16-mixed, "
                 "16, 16-mixed; got '" +
                     value + "'");
      return false;
    }
  }
  if (state.optimizer) {
    llvm::StringRef value(state.optimizer->value.text);
    if (value != "fused_adam" && value != "distributed_fused_adam" &&
        value != "adamw" && value != "adam") {
      diag.error(state.optimizer->value.loc,
                 "'model.optim.name' must be an Adam optimizer (fused_adam, "
                 "distributed_fused_adam, adamw); got '" +
                     value + "'");
      return false;
    }
    config.distributedOptimizer = value == "distributed_fused_adam";
  }
  if (state.betas) {
    const RawValue &betas = state.betas->value;
    double beta1 = 0, beta2 = 0;
    if (betas.kind != RawValue::Kind::List || betas.items.size() != 2 ||
        llvm::StringRef(betas.items[0].text).getAsDouble(beta1) ||
        llvm::StringRef(betas.items[1].text).getAsDouble(beta2)) {
      diag.error(betas.loc, "'model.optim.betas' expects a list of two "
                            "numbers, e.g. [0.9, 0.95]");
      return false;
    }
    config.adamBeta1 = beta1;
    config.adamBeta2 = beta2;
  }
  if (state.schedule) {
    llvm::StringRef value(state.schedule->value.text);
    if (value == "CosineAnnealing") {
      config.lrDecayStyle = LRDecay::Cosine;
    } else if (value == "LinearAnnealing") {
      config.lrDecayStyle = LRDecay::Linear;
    } else if (value == "Constant" || value == "constant") {
      config.lrDecayStyle = LRDecay::Constant;
    } else {
      diag.error(state.schedule->value.loc,
                 "'model.optim.sched.name' must be one of CosineAnnealing, "
                 "LinearAnnealing, Constant; got '" +
                     value + "'");
      return false;
    }
  }
  if (!state.placement.resolve(config, origins, diag))
    return false;
  if (!resolveTop1Softmax(config, origins, origin,
                          "model.moe_router_pre_softmax: true", diag))
    return false;
  return resolveVocabulary(config, "model.tokenizer.vocab_size",
                           "model.tokenizer.library", origin, diag);
}

} // namespace

std::optional<ModelConfig> moe::frontend::loadNemo(llvm::StringRef path,
                                                   const LoadOptions &options,
                                                   Diagnostics &diag) {
  std::optional<std::vector<ConfigEntry>> entries = readYaml(path, diag);
  if (!entries)
    return std::nullopt;
  // Experiment management (logging, checkpoint callbacks) is the trainer's.
  llvm::erase_if(*entries, [](const ConfigEntry &entry) {
    return llvm::StringRef(entry.key).starts_with("exp_manager.");
  });
  NemoState state;
  KeyTable table = nemoTable(state);
  ModelConfig config;
  config.makeVocabSizeDivisibleBy = 128;
  config.auxLossCoeff = 0.01; // NeMo's default for moe_aux_loss_coeff
  KeyOrigins origins;
  SourceLoc origin{path.str()};
  if (!table.apply(*entries, config, origins, diag))
    return std::nullopt;
  options.applyTo(config, origins);
  if (!finishNemo(config, state, origins, origin, diag) ||
      !validateConfig(config, table, origins, origin, diag))
    return std::nullopt;
  return config;
}
