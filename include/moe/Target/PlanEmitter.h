//===- PlanEmitter.h - the forward graph as a runtime plan ------*- C++ -*-===//

#ifndef MOE_TARGET_PLANEMITTER_H
#define MOE_TARGET_PLANEMITTER_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/LogicalResult.h"

#include <string>
#include <vector>

namespace moe::target {

/// What the plan records about the model besides its graph.
struct PlanModelInfo {
  int64_t vocabSize = 0;
  int64_t numLayers = 0;
  int64_t numExperts = 0;
  double initMethodStd = 0.02;
  int64_t seed = 1234;
  std::string configJson;
};

/// How the description asks to train, beyond what the graph holds (the
/// batch it was built for, the micro-batches it accumulates, the learning
/// rate schedule): the defaults of moe-run's options.
struct PlanTrainingInfo {
  int64_t globalBatchSize = 1;
  int64_t logInterval = 100;
  int64_t evalInterval = 0;
  int64_t evalIters = 10;
  int64_t saveInterval = 0;
  std::string save;
  std::string tensorboardDir;
  std::vector<std::string> dataPath;
  std::string split;
  bool perLayerLogging = false;
  int64_t worldSize = 1;          // ranks the plan runs on
  int64_t expertParallelSize = 1; // ranks that split the experts
  int64_t dataParallelSize = 1;   // ranks reading micro-batches of their own
};

/// Serialises the module's @forward, @forward_backward and @optimizer_step,
/// after moe-plan-memory, into the runtime's plan format: tensors (inputs,
/// parameters, constants, arena activations), the programs' ops with their
/// attributes, what `info` says of the model and the training settings of
/// the graph (the batch, the schedule) and of `training`. Reports unsupported
/// IR on the ops and fails.
mlir::LogicalResult emitPlan(mlir::ModuleOp module, const PlanModelInfo &info,
                             const PlanTrainingInfo &training,
                             std::vector<uint8_t> &bytes);

} // namespace moe::target

#endif // MOE_TARGET_PLANEMITTER_H
