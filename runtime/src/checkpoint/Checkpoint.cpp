//===- Checkpoint.cpp - training checkpoints ------------------------------===//

#include "moert/Checkpoint.h"
#include "moert/Weights.h"

#include "AtomicFile.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;

namespace moert {

namespace {

const char *trackerName = "latest_checkpointed_iteration.txt";

std::string iterationName(int64_t iteration) {
  return fmt::format("iter_{:07d}", iteration);
}

} // namespace

Status saveCheckpoint(Device &device, const std::string &directory,
                      const TrainerState &state) {
  // Every rank gathers its experts' shards; the first one writes.
  bool writer = device.communicator().rank() == 0;
  std::error_code error;
  std::string final = directory + "/" + iterationName(state.iteration);
  std::string staging = final + ".tmp";
  if (writer) {
    fs::create_directories(directory, error);
    if (error)
      return Status::error(directory + ": cannot create: " + error.message());
    fs::remove_all(staging, error);
    fs::create_directory(staging, error);
    if (error)
      return Status::error(staging + ": cannot create: " + error.message());
  }
  MOERT_RETURN_IF_ERROR(
      saveSafetensors(device, staging + "/model.safetensors"));
  MOERT_RETURN_IF_ERROR(saveSafetensors(device,
                                        staging + "/optimizer.safetensors",
                                        optimizerTensors(device.plan())));
  if (!writer)
    return Status();
  nlohmann::json trainer = {{"iteration", state.iteration},
                            {"consumed_samples", state.consumedSamples},
                            {"seed", state.seed}};
  MOERT_RETURN_IF_ERROR(writeFileAtomically(staging + "/trainer_state.json",
                                            {trainer.dump(1) + "\n"}));
  MOERT_RETURN_IF_ERROR(syncDirectory(staging));

  // Replace an older save of the same iteration, then publish.
  fs::remove_all(final, error);
  if (std::rename(staging.c_str(), final.c_str()) != 0)
    return Status::error(final + ": cannot write: " + std::strerror(errno));
  MOERT_RETURN_IF_ERROR(syncDirectory(directory));
  return writeFileAtomically(directory + "/" + trackerName,
                             {fmt::format("{}\n", state.iteration)});
}

StatusOr<std::string> latestCheckpoint(const std::string &directory) {
  std::string tracker = directory + "/" + trackerName;
  std::ifstream file(tracker);
  if (!file)
    return std::string();
  std::string text;
  std::getline(file, text);
  char *end = nullptr;
  long long iteration = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || iteration < 0)
    return Status::error(tracker + ": expected an iteration number, got '" +
                         text + "'");
  std::string path = directory + "/" + iterationName(iteration);
  if (!fs::is_directory(path))
    return Status::error(tracker + " names iteration " + text + ", but " +
                         path + " does not exist");
  return path;
}

Status loadCheckpoint(Device &device, const std::string &iterationDir,
                      bool loadOptimizer, TrainerState &state) {
  std::string statePath = iterationDir + "/trainer_state.json";
  std::ifstream file(statePath);
  if (!file)
    return Status::error(statePath + ": cannot open the trainer state");
  nlohmann::json trainer = nlohmann::json::parse(file, nullptr, false);
  auto isCount = [&](const char *key) {
    return trainer.is_object() && trainer.contains(key) &&
           trainer[key].is_number_integer() && trainer[key].get<int64_t>() >= 0;
  };
  for (const char *key : {"iteration", "consumed_samples", "seed"})
    if (!isCount(key))
      return Status::error(statePath + ": '" + key +
                           "' is missing or not a non-negative integer");
  MOERT_RETURN_IF_ERROR(
      loadSafetensors(device, iterationDir + "/model.safetensors"));
  if (loadOptimizer)
    MOERT_RETURN_IF_ERROR(
        loadSafetensors(device, iterationDir + "/optimizer.safetensors",
                        optimizerTensors(device.plan())));
  state.iteration = trainer["iteration"].get<int64_t>();
  state.consumedSamples = trainer["consumed_samples"].get<int64_t>();
  state.seed = trainer["seed"].get<uint64_t>();
  return Status();
}

} // namespace moert
