//===- Frontend.h - model descriptions to ModelConfig -----------*- C++ -*-===//
//
// The four description formats moe-compile reads, each with its own keys,
// defaults and MoE layer placement convention:
//   nemo      NeMo YAML (model.* and trainer.* keys)
//   megatron  Megatron-LM flags (pretrain_gpt.py)
//   minimal   the flags of the minimal MoE pretraining guide
//   hf        a Hugging Face config.json (Mixtral, Qwen2-MoE, DeepSeek-MoE,
//             and the dense Llama / Mistral / Qwen2 families)
//
//===----------------------------------------------------------------------===//

#ifndef MOE_FRONTEND_FRONTEND_H
#define MOE_FRONTEND_FRONTEND_H

#include "moe/Frontend/KeyTable.h"
#include "moe/Frontend/Readers.h"

namespace moe::frontend {

enum class InputFormat { NeMo, Megatron, Minimal, HF };

std::optional<InputFormat> parseFormatName(llvm::StringRef name);

/// The format a file's name suggests: .yaml/.yml is NeMo, .json is Hugging
/// Face, anything else an arguments file whose flags tell Megatron from the
/// minimal guide.
std::optional<InputFormat> formatOfPath(llvm::StringRef path);

/// Whether `flag` (with its leading dashes) is one of the format's flags.
bool isMegatronFlag(llvm::StringRef flag);
bool isMinimalFlag(llvm::StringRef flag);

/// Tells the minimal guide's flags from Megatron's by the flags only one of
/// them has; reports flags of both as an error.
std::optional<InputFormat> detectFlagFormat(const std::vector<Token> &flags,
                                            Diagnostics &diag);

/// Settings given to the compiler rather than written in the description
/// (a config.json has no training sequence length or learning rate); they
/// take precedence.
struct LoadOptions {
  std::optional<int64_t> seqLength;
  std::optional<int64_t> microBatchSize;
  std::optional<int64_t> globalBatchSize;
  std::optional<int64_t> expertParallelSize;
  std::optional<double> lr;
  std::optional<double> minLr;

  void applyTo(ModelConfig &config, KeyOrigins &origins) const;
};

std::optional<ModelConfig>
loadNemo(llvm::StringRef path, const LoadOptions &options, Diagnostics &diag);
std::optional<ModelConfig> loadHuggingFace(llvm::StringRef path,
                                           const LoadOptions &options,
                                           Diagnostics &diag);
/// `origin` is where the flags came from (an arguments file or the command
/// line), for messages about keys that were not given.
std::optional<ModelConfig> loadMegatron(const std::vector<Token> &flags,
                                        const SourceLoc &origin,
                                        const LoadOptions &options,
                                        Diagnostics &diag);
std::optional<ModelConfig> loadMinimal(const std::vector<Token> &flags,
                                       const SourceLoc &origin,
                                       const LoadOptions &options,
                                       Diagnostics &diag);

/// Flags of either vocabulary: `format` (Megatron or minimal) when given,
/// else the one detectFlagFormat tells, loaded as that format.
std::optional<ModelConfig> loadFlags(const std::vector<Token> &flags,
                                     std::optional<InputFormat> format,
                                     const SourceLoc &origin,
                                     const LoadOptions &options,
                                     Diagnostics &diag);

/// Checks the relations between keys that no single key can check (top-k
/// against experts, heads against hidden size, ...). Each error names the
/// keys as the format spells them and points at where one was given.
bool validateConfig(const ModelConfig &config, const KeyTable &table,
                    const KeyOrigins &origins, const SourceLoc &origin,
                    Diagnostics &diag);

/// Vocabulary of the byte-level tokenizer: 256 bytes and end-of-document.
inline constexpr int64_t byteLevelVocabSize = 257;

} // namespace moe::frontend

#endif // MOE_FRONTEND_FRONTEND_H
