//===- Recompute.cpp - recompute MoE layers in the backward pass ----------===//

#include "moe/Dialect/Moe/MoeOps.h"
#include "moe/Dialect/NN/NNOps.h"
#include "moe/Transforms/Passes.h"
#include "moert/PlanNames.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/IRMapping.h"

namespace mlir::moe {
#define GEN_PASS_DEF_RECOMPUTE
#include "moe/Transforms/Passes.h.inc"
} // namespace mlir::moe

using namespace mlir;

namespace {

/// The forward ops of the MoE layer that ends in `output` (an unpermute): its
/// backward slice through moe ops and the nn ops between the grouped GEMMs,
/// stopping at the layer's input and the parameters.
SetVector<Operation *> layerOps(moe::UnpermuteOp output) {
  SetVector<Operation *> ops;
  SmallVector<Operation *> work{output};
  while (!work.empty()) {
    Operation *op = work.pop_back_val();
    if (!ops.insert(op))
      continue;
    for (Value operand : op->getOperands()) {
      Operation *def = operand.getDefiningOp();
      if (!def)
        continue;
      bool inLayer = isa<moe::MoeDialect>(def->getDialect()) ||
                     isa<nn::SwiGLUOp, nn::GeLUOp>(def);
      if (inLayer)
        work.push_back(def);
    }
  }
  return ops;
}

struct RecomputePass : public moe::impl::RecomputeBase<RecomputePass> {
  void runOnOperation() override;
};

void RecomputePass::runOnOperation() {
  ModuleOp module = getOperation();
  auto step = module.lookupSymbol<func::FuncOp>(moert::names::forwardBackward);
  moe::BeginBackwardOp backward;
  if (step)
    step.walk([&](moe::BeginBackwardOp op) { backward = op; });
  if (!backward) {
    module.emitError("has no @forward_backward from moe-autodiff to "
                     "recompute in");
    return signalPassFailure();
  }
  // The forward pass: the ops before moe.begin_backward.
  llvm::DenseSet<Operation *> forward;
  for (Operation &op : *backward->getBlock()) {
    if (&op == backward)
      break;
    forward.insert(&op);
  }
  SmallVector<moe::UnpermuteOp> outputs;
  for (Operation *op : forward)
    if (auto output = dyn_cast<moe::UnpermuteOp>(op))
      outputs.push_back(output);

  OpBuilder builder(module.getContext());
  moe::MoeDialect::RecomputedAttrHelper recomputed(module.getContext());
  for (moe::UnpermuteOp output : outputs) {
    SetVector<Operation *> layer = layerOps(output);
    // The first backward op that reads any of the layer's activations.
    Operation *first = nullptr;
    for (Operation *op : layer)
      for (Value result : op->getResults())
        for (Operation *user : result.getUsers())
          if (!forward.contains(user) && !isa<func::ReturnOp>(user) &&
              (!first || user->isBeforeInBlock(first)))
            first = user;
    if (!first)
      continue;
    // Clone the layer there in forward order; the backward ops read the
    // clones, so the originals die within the forward pass.
    SmallVector<Operation *> ordered(layer.begin(), layer.end());
    llvm::sort(ordered, [](Operation *a, Operation *b) {
      return a->isBeforeInBlock(b);
    });
    builder.setInsertionPoint(first);
    IRMapping mapping;
    for (Operation *op : ordered) {
      Operation *copy = builder.clone(*op, mapping);
      recomputed.setAttr(copy, builder.getUnitAttr());
    }
    for (Operation *op : ordered)
      for (Value result : op->getResults())
        result.replaceUsesWithIf(mapping.lookup(result), [&](OpOperand &use) {
          Operation *user = use.getOwner();
          return !forward.contains(user) && !isa<func::ReturnOp>(user) &&
                 !recomputed.isAttrPresent(user);
        });
  }
}

} // namespace
