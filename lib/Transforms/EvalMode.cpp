//===- EvalMode.cpp - the evaluation graph of @forward --------------------===//

#include "moe/Dialect/Moe/MoeOps.h"
#include "moe/Transforms/Passes.h"
#include "moert/PlanNames.h"

#include "mlir/IR/BuiltinOps.h"

namespace mlir::moe {
#define GEN_PASS_DEF_EVALMODE
#include "moe/Transforms/Passes.h.inc"
} // namespace mlir::moe

using namespace mlir;

namespace {

struct EvalModePass : public moe::impl::EvalModeBase<EvalModePass> {
  void runOnOperation() override {
    auto forward =
        getOperation().lookupSymbol<func::FuncOp>(moert::names::forward);
    if (!forward) {
      getOperation().emitError("has no @forward to evaluate");
      return signalPassFailure();
    }
    forward.walk([](Operation *op) {
      if (auto jitter = dyn_cast<moe::JitterOp>(op)) {
        jitter.replaceAllUsesWith(jitter.getInput());
        jitter.erase();
      } else if (auto routing = dyn_cast<moe::RoutingOpInterface>(op)) {
        routing.convertToEvaluation();
      }
    });
  }
};

} // namespace
