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

Status createDirectories(const std::string &directory) {
  std::error_code error;
  fs::create_directories(directory, error);
  if (error)
    return Status::error(directory + ": cannot create: " + error.message());
  return Status();
}

Status renameDirectory(const std::string &from, const std::string &to) {
  if (std::rename(from.c_str(), to.c_str()) != 0)
    return Status::error(fmt::format("{}: cannot rename to {}: {}", from, to,
                                     std::strerror(errno)));
  return Status();
}

/// A save that stopped between its two renames left the only whole copy of
/// its iteration aside (iter_N.old without iter_N): puts each back.
Status restoreSetAside(const std::string &directory) {
  std::error_code error;
  for (const fs::directory_entry &entry :
       fs::directory_iterator(directory, error)) {
    fs::path path = entry.path();
    if (path.extension() != ".old")
      continue;
    fs::path original = path.parent_path() / path.stem();
    if (!fs::exists(original))
      MOERT_RETURN_IF_ERROR(renameDirectory(path.string(), original.string()));
  }
  return Status();
}

/// Writes one iteration's files into `staging`: the parameters and moments
/// (every rank takes part, `writer` writes) and the trainer state.
Status writeIteration(Device &device, const std::string &staging,
                      const TrainerState &state, bool writer) {
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
  return syncDirectory(staging);
}

} // namespace

Status saveCheckpoint(Device &device, const std::string &directory,
                      const TrainerState &state) {
  // Every rank gathers its experts' shards; the first one writes.
  bool writer = device.communicator().rank() == 0;
  std::error_code error;
  std::string final = directory + "/" + iterationName(state.iteration);
  std::string staging = final + ".tmp";
  std::string previous = final + ".old";
  if (writer) {
    MOERT_RETURN_IF_ERROR(createDirectories(directory));
    MOERT_RETURN_IF_ERROR(restoreSetAside(directory));
    fs::remove_all(staging, error);
    fs::create_directory(staging, error);
    if (error)
      return Status::error(staging + ": cannot create: " + error.message());
  }
  Status written = writeIteration(device, staging, state, writer);
  if (!written.ok() && writer)
    fs::remove_all(staging, error); // give back the space of a partial save
  if (!written.ok() || !writer)
    return written;

  // An older save of the same iteration moves aside before the new one takes
  // its name and is removed only after, so the tracker always names a whole
  // checkpoint (latestCheckpoint looks aside too); then publish.
  fs::remove_all(previous, error);
  if (fs::exists(final))
    MOERT_RETURN_IF_ERROR(renameDirectory(final, previous));
  MOERT_RETURN_IF_ERROR(renameDirectory(staging, final));
  MOERT_RETURN_IF_ERROR(syncDirectory(directory));
  fs::remove_all(previous, error);
  return writeFileAtomically(directory + "/" + trackerName,
                             {fmt::format("{}\n", state.iteration)});
}

Status checkCheckpointDirectory(const std::string &directory) {
  MOERT_RETURN_IF_ERROR(createDirectories(directory));
  std::string probe = directory + "/.moe-run-write-test";
  MOERT_RETURN_IF_ERROR(writeFileAtomically(probe, {"\n"}));
  std::error_code error;
  fs::remove(probe, error);
  return Status();
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
  // A re-save of this iteration stopped between its renames (saveCheckpoint).
  if (!fs::exists(path) && fs::is_directory(path + ".old"))
    return path + ".old";
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
