//===- CommonKeys.h - keys shared by the Megatron-family formats -*- C++
//-*-===//
//
// NeMo's YAML keys are Megatron-Core's arguments under other spellings, so the
// two formats share how values convert; this header holds those conversions.
//
//===----------------------------------------------------------------------===//

#ifndef MOE_LIB_FRONTEND_COMMONKEYS_H
#define MOE_LIB_FRONTEND_COMMONKEYS_H

#include "moe/Frontend/Frontend.h"

namespace moe::frontend {

/// aux_loss, seq_aux_loss, sinkhorn or none (Megatron's
/// --moe-router-load-balancing-type); sinkhorn selects the Sinkhorn router.
KeySpec loadBalancingKey(std::string key);
/// topk or expert_choice (the project's extension for Flaxformer routing).
KeySpec routerTypeKey(std::string key);
KeySpec dropPolicyKey(std::string key);
KeySpec dispatcherKey(std::string key);
KeySpec normalizationKey(std::string key);
KeySpec positionEmbeddingKey(std::string key);
KeySpec decayStyleKey(std::string key);
/// A dropout probability: accepted when 0, rejected otherwise (the compiled
/// graph has no dropout).
KeySpec dropoutKey(std::string key);
/// A fraction of rotary channels: only 1 (all channels) is supported.
KeySpec rotaryPercentKey(std::string key);

/// Sets the vocabulary from the tokenizer when it implies one (the byte-level
/// tokenizer); otherwise `vocabKey` must have been given, and the message says
/// so naming `tokenizerKey`.
bool resolveVocabulary(ModelConfig &config, llvm::StringRef vocabKey,
                       llvm::StringRef tokenizerKey, const SourceLoc &origin,
                       Diagnostics &diag);

/// Top-1 routing with the softmax after top-k gives every token weight 1 and
/// the router no gradient. Megatron's formats refuse it: `switchKey` names the
/// key that selects the softmax over all experts (Switch). Without one, the
/// routing switches to that softmax with a note.
bool resolveTop1Softmax(ModelConfig &config, const KeyOrigins &origins,
                        const SourceLoc &origin,
                        std::optional<llvm::StringRef> switchKey,
                        Diagnostics &diag);

/// Where the MoE layers go, as Megatron-style keys give it: a frequency (an
/// integer n: every n-th layer from 0) or an explicit pattern, or a
/// Flaxformer layout with a number of sparse layers.
struct PlacementKeys {
  std::optional<ConfigEntry> freq;
  std::optional<ConfigEntry> layout;
  std::optional<ConfigEntry> numSparse;

  /// Key specs that record the entries into this object.
  KeySpec freqKey(std::string key);
  KeySpec layoutKey(std::string key);
  KeySpec numSparseKey(std::string key);

  /// Sets config.moeLayers from what was given (once numLayers is known).
  bool resolve(ModelConfig &config, KeyOrigins &origins,
               Diagnostics &diag) const;
};

} // namespace moe::frontend

#endif // MOE_LIB_FRONTEND_COMMONKEYS_H
