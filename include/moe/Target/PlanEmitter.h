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

/// Serialises `func.func @forward`, after moe-plan-memory, into the runtime's
/// plan format: tensors (inputs, parameters, constants, arena activations),
/// ops with their attributes, and what `info` says of the model. Reports
/// unsupported IR on the ops and fails.
mlir::LogicalResult emitPlan(mlir::ModuleOp module, const PlanModelInfo &info,
                             std::vector<uint8_t> &bytes);

} // namespace moe::target

#endif // MOE_TARGET_PLANEMITTER_H
