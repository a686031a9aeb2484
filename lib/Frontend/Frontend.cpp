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

void LoadOptions::applyTo(ModelConfig &config, KeyOrigins &origins) const {
  if (seqLength) {
    config.seqLength = *seqLength;
    origins["seq_length"] = KeyOrigin{"--seq-length", SourceLoc{}};
  }
  if (microBatchSize) {
    config.microBatchSize = *microBatchSize;
    origins["micro_batch_size"] = KeyOrigin{"--micro-batch-size", SourceLoc{}};
  }
  if (globalBatchSize) {
    config.globalBatchSize = *globalBatchSize;
    origins["global_batch_size"] =
        KeyOrigin{"--global-batch-size", SourceLoc{}};
  }
  if (expertParallelSize) {
    config.expertParallelSize = *expertParallelSize;
    origins["expert_parallel_size"] =
        KeyOrigin{"--expert-model-parallel-size", SourceLoc{}};
  }
  if (lr) {
    config.lr = *lr;
    origins["lr"] = KeyOrigin{"--lr", SourceLoc{}};
  }
  if (minLr) {
    config.minLr = *minLr;
    origins["min_lr"] = KeyOrigin{"--min-lr", SourceLoc{}};
  }
}
