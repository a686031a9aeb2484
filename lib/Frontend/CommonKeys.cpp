//===- CommonKeys.cpp - keys shared by the Megatron-family formats --------===//

#include "CommonKeys.h"

#include "moe/Frontend/LayerPlacement.h"

using namespace moe::frontend;

KeySpec moe::frontend::loadBalancingKey(std::string key) {
  return customKey(
      std::move(key), "load_balancing", Arity::One,
      [](const ConfigEntry &entry, ModelConfig &config, Diagnostics &diag) {
        std::optional<std::string> text = toText(entry, diag);
        if (!text)
          return false;
        llvm::StringRef value(*text);
        if (value == "aux_loss") {
          config.loadBalancing = LoadBalancing::AuxLoss;
        } else if (value == "seq_aux_loss") {
          config.loadBalancing = LoadBalancing::SeqAuxLoss;
        } else if (value == "sinkhorn") {
          config.router = Router::Sinkhorn;
          config.loadBalancing = LoadBalancing::None;
        } else if (value.equals_insensitive("none")) {
          config.loadBalancing = LoadBalancing::None;
        } else {
          diag.error(entry.value.loc,
                     "'" + entry.key +
                         "' must be one of aux_loss, seq_aux_loss, sinkhorn, "
                         "none; got '" +
                         value + "'");
          return false;
        }
        return true;
      });
}

KeySpec moe::frontend::routerTypeKey(std::string key) {
  return enumKey(
      std::move(key), "router", &ModelConfig::router,
      {{"topk", Router::TopK}, {"expert_choice", Router::ExpertChoice}});
}

KeySpec moe::frontend::dropPolicyKey(std::string key) {
  return enumKey(
      std::move(key), "drop_policy", &ModelConfig::dropPolicy,
      {{"probs", DropPolicy::Probs}, {"position", DropPolicy::Position}});
}

KeySpec moe::frontend::dispatcherKey(std::string key) {
  return enumKey(std::move(key), "dispatcher", &ModelConfig::dispatcher,
                 {{"allgather", Dispatcher::AllGather},
                  {"alltoall", Dispatcher::AllToAll}});
}

KeySpec moe::frontend::normalizationKey(std::string key) {
  return enumKey(std::move(key), "normalization", &ModelConfig::normalization,
                 {{"LayerNorm", Normalization::LayerNorm},
                  {"RMSNorm", Normalization::RMSNorm}});
}

KeySpec moe::frontend::positionEmbeddingKey(std::string key) {
  return enumKey(std::move(key), "position_embedding_type",
                 &ModelConfig::positionEmbedding,
                 {{"learned_absolute", PositionEmbedding::LearnedAbsolute},
                  {"rope", PositionEmbedding::RoPE},
                  {"none", PositionEmbedding::None}});
}

KeySpec moe::frontend::decayStyleKey(std::string key) {
  return enumKey(std::move(key), "lr_decay_style", &ModelConfig::lrDecayStyle,
                 {{"constant", LRDecay::Constant},
                  {"linear", LRDecay::Linear},
                  {"cosine", LRDecay::Cosine}});
}

KeySpec moe::frontend::dropoutKey(std::string key) {
  return requiredValueKey(std::move(key), 0.0,
                          "dropout is not supported; set it to 0");
}

KeySpec moe::frontend::rotaryPercentKey(std::string key) {
  return requiredValueKey(std::move(key), 1.0,
                          "only rotary embeddings over every channel (1.0) "
                          "are supported");
}

bool moe::frontend::resolveVocabulary(ModelConfig &config,
                                      llvm::StringRef vocabKey,
                                      llvm::StringRef tokenizerKey,
                                      const SourceLoc &origin,
                                      Diagnostics &diag) {
  if (config.vocabSize)
    return true;
  llvm::StringRef tokenizer(config.tokenizerType);
  if (tokenizer.equals_insensitive("ByteLevelTokenizer") ||
      tokenizer.equals_insensitive("byte-level")) {
    config.vocabSize = byteLevelVocabSize;
    return true;
  }
  if (tokenizer.empty())
    diag.error(origin, "the vocabulary size is unknown: give '" + vocabKey +
                           "' or a byte-level '" + tokenizerKey + "'");
  else
    diag.error(origin, "the vocabulary of tokenizer '" + tokenizer +
                           "' is read at training time; give '" + vocabKey +
                           "' to compile the model");
  return false;
}

bool moe::frontend::resolveTop1Softmax(ModelConfig &config,
                                       const KeyOrigins &origins,
                                       const SourceLoc &origin,
                                       std::optional<llvm::StringRef> switchKey,
                                       Diagnostics &diag) {
  if (config.numExperts == 0 || config.topK != 1 ||
      config.router != Router::TopK || config.routerPreSoftmax)
    return true;
  auto it = origins.find("topk");
  SourceLoc where = it != origins.end() ? it->second.loc : origin;
  if (switchKey) {
    diag.error(where, "top-1 routing needs '" + *switchKey +
                          "' (Switch): with the softmax after top-k every "
                          "weight is 1 and the router gets no gradient");
    return false;
  }
  config.routerPreSoftmax = true;
  diag.note(where, "top-1 routing uses the softmax over all experts (Switch) "
                   "so that the router gets a gradient");
  return true;
}

KeySpec PlacementKeys::freqKey(std::string key) {
  return recordKey(std::move(key), "moe_layers", freq);
}
KeySpec PlacementKeys::layoutKey(std::string key) {
  return recordKey(std::move(key), "moe_layers", layout);
}
KeySpec PlacementKeys::numSparseKey(std::string key) {
  return recordKey(std::move(key), "moe_layers", numSparse);
}

bool PlacementKeys::resolve(ModelConfig &config, KeyOrigins &origins,
                            Diagnostics &diag) const {
  if (freq && (layout || numSparse)) {
    const ConfigEntry &other = layout ? *layout : *numSparse;
    diag.error(other.loc, "'" + other.key + "' and '" + freq->key +
                              "' both place the MoE layers; give one");
    return false;
  }
  if (freq) {
    origins["moe_layers"] = KeyOrigin{freq->key, freq->value.loc};
    llvm::StringRef text(freq->value.text);
    int64_t every = 0;
    bool isList = freq->value.kind == RawValue::Kind::List;
    if (!isList && !text.getAsInteger(10, every)) {
      if (every < 1) {
        diag.error(freq->value.loc,
                   "'" + freq->key + "' must be at least 1, got " + text);
        return false;
      }
      config.moeLayers = megatronLayerFreq(config.numLayers, every);
      return true;
    }
    // A YAML list is a pattern too; rebuild its text for the parser.
    std::string pattern = text.str();
    if (isList) {
      pattern = "[";
      for (const RawValue &item : freq->value.items)
        pattern += (pattern.size() > 1 ? "," : "") + item.text;
      pattern += "]";
    }
    std::string error;
    std::optional<std::vector<bool>> layers = parseLayerPattern(pattern, error);
    if (!layers) {
      diag.error(freq->value.loc,
                 "'" + freq->key + "': malformed layer pattern: " + error);
      return false;
    }
    config.moeLayers = *layers;
    return true;
  }
  if (layout || numSparse) {
    if (!layout || !numSparse) {
      const ConfigEntry &given = layout ? *layout : *numSparse;
      diag.error(given.loc, "'" + given.key +
                                "' needs both a sparse layout and a number of "
                                "sparse layers");
      return false;
    }
    int64_t count = 0;
    if (llvm::StringRef(numSparse->value.text).getAsInteger(10, count)) {
      diag.error(numSparse->value.loc, "'" + numSparse->key +
                                           "' expects an integer, got " +
                                           numSparse->value.describe());
      return false;
    }
    std::string error;
    std::optional<std::vector<bool>> layers =
        flaxformerLayout(layout->value.text, config.numLayers, count, error);
    if (!layers) {
      diag.error(layout->value.loc, "'" + layout->key + "': " + error);
      return false;
    }
    origins["moe_layers"] = KeyOrigin{layout->key, layout->value.loc};
    config.moeLayers = *layers;
  }
  return true;
}
