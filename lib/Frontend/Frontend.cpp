//===- Frontend.cpp - choosing a description format -----------------------===//

#include "moe/Frontend/Frontend.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/Path.h"

using namespace moe::frontend;

std::optional<InputFormat>
moe::frontend::parseFormatName(llvm::StringRef name) {
  return llvm::StringSwitch<std::optional<InputFormat>>(name)
      .Case("nemo", InputFormat::NeMo)
      .Case("megatron", InputFormat::Megatron)
      .Case("minimal", InputFormat::Minimal)
      .Case("hf", InputFormat::HF)
      .Default(std::nullopt);
}

std::optional<InputFormat> moe::frontend::formatOfPath(llvm::StringRef path) {
  llvm::StringRef extension = llvm::sys::path::extension(path);
  if (extension == ".yaml" || extension == ".yml")
    return InputFormat::NeMo;
  if (extension == ".json")
    return InputFormat::HF;
  return std::nullopt;
}

std::optional<InputFormat>
moe::frontend::detectFlagFormat(const std::vector<Token> &flags,
                                Diagnostics &diag) {
  // The first flag that only one of the two vocabularies has decides.
  const Token *minimalFlag = nullptr, *megatronFlag = nullptr;
  for (const Token &token : flags) {
    llvm::StringRef name = llvm::StringRef(token.text).split('=').first;
    if (!name.starts_with("--"))
      continue;
    bool megatron = isMegatronFlag(name), minimal = isMinimalFlag(name);
    if (minimal && !megatron && !minimalFlag)
      minimalFlag = &token;
    if (megatron && !minimal && !megatronFlag)
      megatronFlag = &token;
  }
  if (minimalFlag && megatronFlag) {
    diag.error(minimalFlag->loc,
               "'" + minimalFlag->text +
                   "' is a flag of the minimal pretraining guide but '" +
                   megatronFlag->text + "' (" + megatronFlag->loc.str() +
                   ") is Megatron's; pass --format=minimal or "
                   "--format=megatron");
    return std::nullopt;
  }
  return minimalFlag ? InputFormat::Minimal : InputFormat::Megatron;
}

std::optional<ModelConfig> moe::frontend::loadFlags(
    const std::vector<Token> &flags, std::optional<InputFormat> format,
    const SourceLoc &origin, const LoadOptions &options, Diagnostics &diag) {
  if (!format)
    format = detectFlagFormat(flags, diag);
  if (!format)
    return std::nullopt;
  if (format == InputFormat::Minimal)
    return loadMinimal(flags, origin, options, diag);
  return loadMegatron(flags, origin, options, diag);
}

void LoadOptions::applyTo(ModelConfig &config, KeyOrigins &origins) const {
  // Each given option sets its field and is where the key came from.
  auto apply = [&](const auto &option, auto &field, const char *key,
                   const char *flag) {
    if (option) {
      field = *option;
      origins[key] = KeyOrigin{flag, SourceLoc{}};
    }
  };
  apply(seqLength, config.seqLength, "seq_length", "--seq-length");
  apply(microBatchSize, config.microBatchSize, "micro_batch_size",
        "--micro-batch-size");
  apply(globalBatchSize, config.globalBatchSize, "global_batch_size",
        "--global-batch-size");
  apply(expertParallelSize, config.expertParallelSize, "expert_parallel_size",
        "--expert-model-parallel-size");
  apply(lr, config.lr, "lr", "--lr");
  apply(minLr, config.minLr, "min_lr", "--min-lr");
}
