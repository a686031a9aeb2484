//===- RuntimeFuzzer.cpp - the runtime's file readers under libFuzzer -----===//
//
// One source, four targets (MOE_FUZZ_READER): the plan loader, the
// safetensors reader, the indexed-dataset reader and the checkpoint loader.
// The last two fill two files from one input (splitInput). The safetensors
// and checkpoint readers load into a CPU device of the tiny example's plan.
// Every input must be accepted or refused with a message; a crash, a leak or
// undefined behaviour fails.
//
//===----------------------------------------------------------------------===//

#include "FuzzInput.h"

#include "moert/Checkpoint.h"
#include "moert/Data.h"
#include "moert/Device.h"
#include "moert/Weights.h"

#include <cstdlib>

using namespace moert;

static void requireMessage(const Status &status) {
  if (!status.ok() && status.message().empty())
    std::abort();
}

#if MOE_FUZZ_READER == 1 || MOE_FUZZ_READER == 3
/// The tiny example's plan on a CPU device, made once.
static Device &tinyDevice() {
  static Plan plan = [] {
    StatusOr<Plan> loaded = loadPlan(MOE_FUZZ_PLAN);
    if (!loaded.ok())
      std::abort();
    return std::move(*loaded);
  }();
  static std::unique_ptr<Communicator> comm = createLocalCommunicator();
  static std::unique_ptr<Device> device = [] {
    StatusOr<std::unique_ptr<Device>> created =
        createDevice("cpu", plan, *comm);
    if (!created.ok())
      std::abort();
    return std::move(*created);
  }();
  return *device;
}
#endif

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  using namespace moe::fuzz;
#if MOE_FUZZ_READER == 0
  StatusOr<Plan> plan =
      parsePlan(std::vector<uint8_t>(data, data + size), "fuzz.plan");
  requireMessage(plan.status());
#elif MOE_FUZZ_READER == 1
  requireMessage(loadSafetensors(tinyDevice(),
                                 writeInput("model.safetensors", data, size)));
#elif MOE_FUZZ_READER == 2
  TwoParts parts = splitInput(data, size);
  writeInput("data.idx", parts.first, parts.firstSize);
  writeInput("data.bin", parts.second, parts.secondSize);
  StatusOr<data::IndexedDataset> dataset =
      data::IndexedDataset::open(scratchDir() + "/data");
  requireMessage(dataset.status());
  if (dataset.ok()) {
    size_t tokens = 0;
    for (size_t doc = 0; doc < dataset->numDocuments(); ++doc)
      tokens += dataset->document(doc).size();
    (void)tokens;
  }
#else
  // A checkpoint directory: the fuzzed tracker and trainer state beside the
  // tiny plan's own weights (saved once).
  static const std::string dir = [] {
    std::string dir = scratchDir() + "/checkpoints";
    Device &device = tinyDevice();
    if (!initializeParameters(device, 1).ok() ||
        !saveCheckpoint(device, dir, TrainerState{1, 8, 1}).ok())
      std::abort();
    return dir;
  }();
  TwoParts parts = splitInput(data, size);
  writeInput("checkpoints/latest_checkpointed_iteration.txt", parts.first,
             parts.firstSize);
  writeInput("checkpoints/iter_0000001/trainer_state.json", parts.second,
             parts.secondSize);
  StatusOr<std::string> latest = latestCheckpoint(dir);
  requireMessage(latest.status());
  if (latest.ok() && !latest->empty()) {
    TrainerState state;
    requireMessage(loadCheckpoint(tinyDevice(), *latest, true, state));
  }
#endif
  return 0;
}
