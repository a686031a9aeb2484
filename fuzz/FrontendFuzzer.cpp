//===- FrontendFuzzer.cpp - the description readers under libFuzzer -------===//
//
// One source, three targets (MOE_FUZZ_FORMAT): NeMo YAML, an arguments file
// of Megatron or minimal-guide flags, a Hugging Face config.json. Each input
// goes through the reader, the format's keys and validation, as in
// moe-compile. A rejected input must have reported an error.
//
//===----------------------------------------------------------------------===//

#include "FuzzInput.h"

#include "moe/Frontend/ConfigJson.h"
#include "moe/Frontend/Frontend.h"
#include "moe/Frontend/Readers.h"

#include <cstdlib>

using namespace moe::frontend;

static std::optional<ModelConfig> load(const std::string &path,
                                       Diagnostics &diag) {
  LoadOptions options;
#if MOE_FUZZ_FORMAT == 0
  return loadNemo(path, options, diag);
#elif MOE_FUZZ_FORMAT == 1
  return loadHuggingFace(path, options, diag);
#else
  std::optional<std::vector<Token>> flags = readArgsFile(path, diag);
  if (!flags)
    return std::nullopt;
  return loadFlags(*flags, std::nullopt, SourceLoc{path}, options, diag);
#endif
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
#if MOE_FUZZ_FORMAT == 0
  const char *name = "model.yaml";
#elif MOE_FUZZ_FORMAT == 1
  const char *name = "config.json";
#else
  const char *name = "model.args";
#endif
  std::string path = moe::fuzz::writeInput(name, data, size);
  Diagnostics diag(llvm::nulls());
  std::optional<ModelConfig> config = load(path, diag);
  if (config.has_value() == (diag.errorCount() > 0))
    std::abort(); // a config with errors, or a rejection without one
  if (config)
    (void)configToJson(*config);
  return 0;
}
