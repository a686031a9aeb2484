//===- Checkpoint.h - training checkpoints ----------------------*- C++ -*-===//
//
// A checkpoint directory holds, as Megatron's does, one subdirectory per saved
// iteration and a tracker file naming the latest:
//
//   latest_checkpointed_iteration.txt   "20"
//   iter_0000020/model.safetensors      parameters, Hugging Face names
//   iter_0000020/optimizer.safetensors  exp_avg.<name>, exp_avg_sq.<name>
//   iter_0000020/trainer_state.json     step, data position, RNG seed
//
// Saving writes iter_N.tmp, syncs every file, renames it into place and only
// then replaces the tracker (temporary file, sync, rename), so a crash at any
// moment leaves the previous latest checkpoint intact. Saving an iteration
// again moves the old copy to iter_N.old until the new one is in place.
//
//===----------------------------------------------------------------------===//

#ifndef MOERT_CHECKPOINT_H
#define MOERT_CHECKPOINT_H

#include "moert/Device.h"

#include <cstdint>
#include <string>

namespace moert {

/// Where training stands, besides the tensors.
struct TrainerState {
  int64_t iteration = 0;       // optimizer steps taken
  int64_t consumedSamples = 0; // training samples read
  uint64_t seed = 0;           // data order and router jitter derive from it
};

/// Saves the parameters, the optimizer moments and `state` as iteration
/// `state.iteration` under `directory`, and makes it the latest.
Status saveCheckpoint(Device &device, const std::string &directory,
                      const TrainerState &state);

/// Creates `directory` if needed and checks that files can be written in
/// it, so that a run finds out before training rather than at its first
/// save.
Status checkCheckpointDirectory(const std::string &directory);

/// The latest checkpoint's iteration directory under `directory`, or an
/// empty string when it holds none.
StatusOr<std::string> latestCheckpoint(const std::string &directory);

/// Loads a checkpoint's parameters, and its optimizer moments when
/// `loadOptimizer`; fills `state` from its trainer state.
Status loadCheckpoint(Device &device, const std::string &iterationDir,
                      bool loadOptimizer, TrainerState &state);

} // namespace moert

#endif // MOERT_CHECKPOINT_H
