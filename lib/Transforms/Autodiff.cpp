//===- Autodiff.cpp - reverse mode over the forward graph -----------------===//

#include "moe/Dialect/Moe/MoeOps.h"
#include "moe/Dialect/NN/NNOps.h"
#include "moe/Transforms/Passes.h"
#include "moert/PlanNames.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"

namespace mlir::moe {
#define GEN_PASS_DEF_AUTODIFF
#include "moe/Transforms/Passes.h.inc"
} // namespace mlir::moe

using namespace mlir;

namespace {

Value splat(OpBuilder &builder, Location loc, Type type, float value) {
  auto shaped = cast<RankedTensorType>(type);
  return builder.create<arith::ConstantOp>(
      loc, DenseElementsAttr::get(
               shaped, builder.getFloatAttr(shaped.getElementType(), value)));
}

/// The reverse sweep over one straight-line function: the gradient of the sum
/// of its results with respect to every value, accumulated with nn.add where
/// a value has several uses.
class ReverseSweep {
public:
  explicit ReverseSweep(func::FuncOp function)
      : function(function), builder(function.getContext()) {}

  LogicalResult run();

private:
  void accumulate(Value value, Value grad);

  func::FuncOp function;
  OpBuilder builder;
  llvm::DenseMap<Value, Value> grads;
};

void ReverseSweep::accumulate(Value value, Value grad) {
  Value &slot = grads[value];
  slot = slot ? builder.create<nn::AddOp>(grad.getLoc(), slot, grad).getResult()
              : grad;
}

LogicalResult ReverseSweep::run() {
  Block &body = function.getBody().front();
  auto ret = cast<func::ReturnOp>(body.getTerminator());
  SmallVector<Value> losses(ret.getOperands());
  SmallVector<Operation *> forward;
  for (Operation &op : body.without_terminator())
    forward.push_back(&op);
  builder.setInsertionPoint(ret);
  Location loc = function.getLoc();
  // Later passes (moe-recompute) tell the forward ops from the backward ones.
  builder.create<moe::BeginBackwardOp>(loc);

  // d(lm + aux + z) / d(each loss) = 1, Megatron's backward. Every result
  // is such a loss: a scalar of floating point.
  for (auto [i, loss] : llvm::enumerate(losses)) {
    auto type = dyn_cast<RankedTensorType>(loss.getType());
    if (!type || type.getRank() != 0 || !isa<FloatType>(type.getElementType()))
      return function.emitError()
             << "result " << i << " (" << loss.getType()
             << ") is not a loss to differentiate: every result of @forward "
                "must be a floating-point scalar";
    accumulate(loss, splat(builder, loc, type, 1.0f));
  }

  for (Operation *op : llvm::reverse(forward)) {
    SmallVector<Value> resultGrads;
    bool any = false;
    for (Value result : op->getResults()) {
      resultGrads.push_back(grads.lookup(result));
      any |= static_cast<bool>(resultGrads.back());
    }
    // Constants and other operand-free ops have nothing to pass a gradient to.
    if (!any || op->getNumOperands() == 0)
      continue;
    auto differentiable = dyn_cast<moe::DifferentiableOpInterface>(op);
    if (!differentiable)
      return op->emitOpError("has no vector-Jacobian product; only ops with "
                             "DifferentiableOpInterface can be "
                             "differentiated");
    SmallVector<Value> operandGrads(op->getNumOperands());
    if (failed(differentiable.buildVJP(builder, resultGrads, operandGrads)))
      return failure();
    for (auto [operand, grad] : llvm::zip(op->getOperands(), operandGrads)) {
      if (!grad)
        continue;
      if (grad.getType() != operand.getType())
        return op->emitError()
               << "VJP gives a gradient of type " << grad.getType()
               << " for an operand of type " << operand.getType();
      accumulate(operand, grad);
    }
  }

  // Results: the losses, then one gradient per parameter (zero when the
  // parameter does not reach the losses).
  SmallVector<Value> results(losses);
  SmallVector<Attribute> names;
  for (BlockArgument arg : function.getArguments()) {
    auto name = function.getArgAttrOfType<StringAttr>(
        arg.getArgNumber(), moe::MoeDialect::getParamAttrName());
    if (!name)
      continue;
    Value grad = grads.lookup(arg);
    results.push_back(grad ? grad : splat(builder, loc, arg.getType(), 0.0f));
    names.push_back(name);
  }
  builder.create<func::ReturnOp>(ret.getLoc(), results);
  ret.erase();

  SmallVector<Type> resultTypes;
  for (Value value : results)
    resultTypes.push_back(value.getType());
  SmallVector<DictionaryAttr> resultAttrs;
  for (unsigned i = 0; i < losses.size(); ++i)
    resultAttrs.push_back(function.getResultAttrDict(i));
  for (Attribute name : names)
    resultAttrs.push_back(builder.getDictionaryAttr(
        builder.getNamedAttr(moe::MoeDialect::getGradAttrName(), name)));
  function.setFunctionType(
      builder.getFunctionType(function.getArgumentTypes(), resultTypes));
  function.setAllResultAttrs(resultAttrs);
  return success();
}

struct AutodiffPass : public moe::impl::AutodiffBase<AutodiffPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto forward = module.lookupSymbol<func::FuncOp>(moert::names::forward);
    if (!forward) {
      module.emitError("has no func.func @forward to differentiate");
      return signalPassFailure();
    }
    if (module.lookupSymbol(moert::names::forwardBackward)) {
      module.emitError("already holds a @forward_backward");
      return signalPassFailure();
    }
    if (!forward.getBody().hasOneBlock()) {
      forward.emitError("autodiff needs a straight-line function of one block");
      return signalPassFailure();
    }
    func::FuncOp step = forward.clone();
    step.setName(moert::names::forwardBackward);
    module.insert(std::next(forward->getIterator()), step);
    if (failed(ReverseSweep(step).run()))
      return signalPassFailure();
  }
};

} // namespace
