//===- HuggingFaceFormat.cpp - Hugging Face config.json -------------------===//
//
// Decoder-only models in the Llama family: RMSNorm, SwiGLU (hidden_act silu),
// rotary embeddings, no biases, untied embeddings unless tie_word_embeddings.
// MoE variants: Mixtral (every layer), Qwen2-MoE (decoder_sparse_step, a gated
// shared expert, q/k/v biases) and DeepSeek-MoE (first_k_dense_replace,
// moe_layer_freq, ungated shared experts). The training sequence length is not
// part of a config.json; it defaults to max_position_embeddings.
//
//===----------------------------------------------------------------------===//

#include "CommonKeys.h"

#include "moe/Frontend/LayerPlacement.h"

using namespace moe::frontend;

namespace {

struct HFState {
  std::optional<ConfigEntry> modelType;
  std::optional<ConfigEntry> hiddenAct;
  std::optional<ConfigEntry> normTopkProb;
  std::optional<ConfigEntry> scoringFunc;
  std::optional<ConfigEntry> topkMethod;
  std::optional<ConfigEntry> seqAux;
  std::optional<ConfigEntry> routedScaling;
  std::optional<ConfigEntry> slidingWindow;
  std::optional<ConfigEntry> ropeScaling;
  std::optional<ConfigEntry> mla; // a DeepSeek-V2/V3 multi-head latent key
  int64_t decoderSparseStep = 1;
  std::vector<int64_t> mlpOnlyLayers;
  int64_t firstKDense = 0;
  int64_t moeLayerFreq = 1;
  int64_t sharedExperts = 0;
  int64_t intermediateSize = 0;
};

/// An integer key kept for later, at least `minimum`.
KeySpec stateIntKey(std::string key, std::string field, int64_t &slot,
                    int64_t minimum = 0) {
  return customKey(std::move(key), std::move(field), Arity::One,
                   [&slot, minimum](const ConfigEntry &entry, ModelConfig &,
                                    Diagnostics &diag) {
                     if (entry.value.kind == RawValue::Kind::Null)
                       return true;
                     std::optional<int64_t> value = toInt(entry, diag);
                     if (!value)
                       return false;
                     if (*value < minimum) {
                       diag.error(entry.loc,
                                  "'" + entry.key + "' must be at least " +
                                      llvm::Twine(minimum) + ", got " +
                                      llvm::Twine(*value));
                       return false;
                     }
                     slot = *value;
                     return true;
                   });
}

KeyTable hfTable(HFState &state) {
  std::vector<KeySpec> specs = {
      recordKey("model_type", "", state.modelType),
      ignoredKey("architectures"),
      intKey("hidden_size", "hidden_size", &ModelConfig::hiddenSize),
      stateIntKey("intermediate_size", "ffn_hidden_size",
                  state.intermediateSize),
      intKey("num_hidden_layers", "num_layers", &ModelConfig::numLayers),
      intKey("num_attention_heads", "num_attention_heads",
             &ModelConfig::numAttentionHeads),
      intKey("num_key_value_heads", "num_query_groups",
             &ModelConfig::numQueryGroups),
      nullableIntKey("head_dim", "kv_channels", &ModelConfig::kvChannels),
      intKey("max_position_embeddings", "max_position_embeddings",
             &ModelConfig::maxPositionEmbeddings),
      intKey("vocab_size", "vocab_size", &ModelConfig::vocabSize),
      floatKey("rms_norm_eps", "norm_epsilon", &ModelConfig::normEpsilon),
      floatKey("rope_theta", "rotary_base", &ModelConfig::rotaryBase),
      recordKey("rope_scaling", "", state.ropeScaling),
      boolKey("tie_word_embeddings", "tie_embeddings",
              &ModelConfig::tieEmbeddings),
      floatKey("initializer_range", "init_method_std",
               &ModelConfig::initMethodStd),
      recordKey("hidden_act", "", state.hiddenAct),
      boolKey("attention_bias", "add_qkv_bias", &ModelConfig::addQKVBias),
      dropoutKey("attention_dropout"),
      recordKey("sliding_window", "", state.slidingWindow),
      ignoredKey("use_sliding_window"),
      ignoredKey("max_window_layers"),

      // Mixtral.
      intKey("num_local_experts", "num_experts", &ModelConfig::numExperts),
      intKey("num_experts_per_tok", "topk", &ModelConfig::topK),
      floatKey("router_aux_loss_coef", "aux_loss_coeff",
               &ModelConfig::auxLossCoeff),
      floatKey("router_jitter_noise", "input_jitter_eps",
               &ModelConfig::inputJitterEps),
      ignoredKey("output_router_logits"),

      // Qwen2-MoE.
      intKey("num_experts", "num_experts", &ModelConfig::numExperts),
      intKey("moe_intermediate_size", "moe_ffn_hidden_size",
             &ModelConfig::moeFfnHiddenSize),
      intKey("shared_expert_intermediate_size", "shared_expert_size",
             &ModelConfig::sharedExpertFfnHiddenSize),
      stateIntKey("decoder_sparse_step", "moe_layers", state.decoderSparseStep,
                  1),
      customKey(
          "mlp_only_layers", "moe_layers", Arity::One,
          [&state](const ConfigEntry &entry, ModelConfig &, Diagnostics &diag) {
            auto items = toTextList(entry, diag);
            if (!items)
              return false;
            for (const std::string &item : *items) {
              int64_t layer = 0;
              if (llvm::StringRef(item).getAsInteger(10, layer)) {
                diag.error(entry.value.loc, "'mlp_only_layers' expects "
                                            "a list of layer numbers");
                return false;
              }
              state.mlpOnlyLayers.push_back(layer);
            }
            return true;
          }),
      recordKey("norm_topk_prob", "", state.normTopkProb),

      // DeepSeek-MoE.
      intKey("n_routed_experts", "num_experts", &ModelConfig::numExperts),
      stateIntKey("n_shared_experts", "shared_expert_size",
                  state.sharedExperts),
      stateIntKey("first_k_dense_replace", "moe_layers", state.firstKDense),
      stateIntKey("moe_layer_freq", "moe_layers", state.moeLayerFreq, 1),
      recordKey("scoring_func", "", state.scoringFunc),
      recordKey("topk_method", "", state.topkMethod),
      floatKey("aux_loss_alpha", "aux_loss_coeff", &ModelConfig::auxLossCoeff),
      recordKey("seq_aux", "", state.seqAux),
      recordKey("routed_scaling_factor", "", state.routedScaling),
      ignoredKey("ep_size"),
      ignoredKey("pretraining_tp"),
      recordKey("kv_lora_rank", "", state.mla),
      recordKey("q_lora_rank", "", state.mla),
      recordKey("qk_rope_head_dim", "", state.mla),
      recordKey("qk_nope_head_dim", "", state.mla),
      recordKey("v_head_dim", "", state.mla),

      // Inference and bookkeeping keys.
      ignoredKey("bos_token_id"),
      ignoredKey("eos_token_id"),
      ignoredKey("pad_token_id"),
      ignoredKey("torch_dtype"),
      ignoredKey("transformers_version"),
      ignoredKey("use_cache"),
      ignoredKey("_name_or_path"),
      ignoredKey("auto_map"),
  };
  return KeyTable(std::move(specs), "key");
}

bool isTrue(const std::optional<ConfigEntry> &entry) {
  return entry && entry->value.text == "true";
}

bool finishHF(ModelConfig &config, HFState &state, KeyOrigins &origins,
              const SourceLoc &origin, Diagnostics &diag) {
  if (!state.modelType) {
    diag.error(origin, "'model_type' is required (mixtral, qwen2_moe, "
                       "deepseek, llama, mistral or qwen2)");
    return false;
  }
  llvm::StringRef type(state.modelType->value.text);
  if (state.mla) {
    diag.error(state.mla->loc,
               "'" + state.mla->key +
                   "': DeepSeek-V2/V3 multi-head latent "
                   "attention is not supported; DeepSeek-MoE (model_type "
                   "deepseek) is");
    return false;
  }
  if (type != "mixtral" && type != "qwen2_moe" && type != "deepseek" &&
      type != "llama" && type != "mistral" && type != "qwen2") {
    diag.error(state.modelType->value.loc,
               "unsupported model_type '" + type +
                   "'; expected mixtral, qwen2_moe, deepseek, llama, mistral "
                   "or qwen2");
    return false;
  }
  if (state.hiddenAct && state.hiddenAct->value.text != "silu") {
    diag.error(state.hiddenAct->value.loc,
               "'hidden_act' must be silu (a SwiGLU MLP); got '" +
                   state.hiddenAct->value.text + "'");
    return false;
  }
  if (state.ropeScaling &&
      state.ropeScaling->value.kind != RawValue::Kind::Null) {
    diag.error(state.ropeScaling->loc,
               "'rope_scaling' is not supported; it must be null");
    return false;
  }
  if (state.scoringFunc && state.scoringFunc->value.text != "softmax") {
    diag.error(state.scoringFunc->value.loc,
               "'scoring_func' must be softmax; got '" +
                   state.scoringFunc->value.text + "'");
    return false;
  }
  if (state.topkMethod && state.topkMethod->value.text != "greedy") {
    diag.error(state.topkMethod->value.loc,
               "'topk_method' must be greedy; got '" +
                   state.topkMethod->value.text + "'");
    return false;
  }
  if (state.routedScaling && state.routedScaling->value.text != "1" &&
      state.routedScaling->value.text != "1.0") {
    diag.error(state.routedScaling->value.loc,
               "'routed_scaling_factor' must be 1.0; got '" +
                   state.routedScaling->value.text + "'");
    return false;
  }

  config.normalization = Normalization::RMSNorm;
  config.activation = Activation::SwiGLU;
  config.positionEmbedding = PositionEmbedding::RoPE;
  config.addBiasLinear = false;
  config.ffnHiddenSize = state.intermediateSize;
  if (type == "qwen2" || type == "qwen2_moe")
    config.addQKVBias = true;
  if (!config.seqLength)
    config.seqLength = config.maxPositionEmbeddings;
  // Sliding-window attention would differ from full causal attention only
  // past the window.
  if (state.slidingWindow &&
      state.slidingWindow->value.kind != RawValue::Kind::Null) {
    int64_t window = 0;
    llvm::StringRef(state.slidingWindow->value.text).getAsInteger(10, window);
    if (window < config.seqLength) {
      diag.error(state.slidingWindow->value.loc,
                 "sliding-window attention (window " +
                     state.slidingWindow->value.text +
                     ") is not supported below the sequence length (" +
                     llvm::Twine(config.seqLength) + ")");
      return false;
    }
  }
  if (config.numExperts == 0)
    return true;

  // Renormalised top-k weights are the softmax after top-k.
  bool renormalise = type == "mixtral" || isTrue(state.normTopkProb);
  config.routerPreSoftmax = !renormalise;
  resolveTop1Softmax(config, origins, origin, std::nullopt, diag);
  if (isTrue(state.seqAux))
    config.loadBalancing = LoadBalancing::SeqAuxLoss;
  if (type == "qwen2_moe") {
    config.moeLayers = qwenSparseStep(config.numLayers, state.decoderSparseStep,
                                      state.mlpOnlyLayers);
    config.sharedExpertGate = config.sharedExpertFfnHiddenSize > 0;
  } else if (type == "deepseek") {
    config.moeLayers =
        deepseekLayers(config.numLayers, state.firstKDense, state.moeLayerFreq);
    config.sharedExpertFfnHiddenSize =
        state.sharedExperts * config.moeFfnHiddenSize;
  }
  return true;
}

} // namespace

std::optional<ModelConfig>
moe::frontend::loadHuggingFace(llvm::StringRef path, const LoadOptions &options,
                               Diagnostics &diag) {
  std::optional<std::vector<ConfigEntry>> entries = readJson(path, diag);
  if (!entries)
    return std::nullopt;
  HFState state;
  KeyTable table = hfTable(state);
  ModelConfig config;
  config.tieEmbeddings = false;
  config.normEpsilon = 1e-6;
  KeyOrigins origins;
  SourceLoc origin{path.str()};
  if (!table.apply(*entries, config, origins, diag))
    return std::nullopt;
  options.applyTo(config, origins);
  if (!finishHF(config, state, origins, origin, diag) ||
      !validateConfig(config, table, origins, origin, diag))
    return std::nullopt;
  return config;
}
