//===- Optimizer.cpp - gradient accumulation and the AdamW step -----------===//

#include "moe/Dialect/Moe/MoeOps.h"
#include "moe/Dialect/NN/NNOps.h"
#include "moe/Transforms/Passes.h"
#include "moert/PlanNames.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"

#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/FormatVariadic.h"

namespace mlir::moe {
#define GEN_PASS_DEF_OPTIMIZER
#include "moe/Transforms/Passes.h.inc"
} // namespace mlir::moe

using namespace mlir;
using moe::MoeDialect;
namespace names = moert::names;

namespace {

struct Gradient {
  StringAttr name; // the parameter's
  Type type;
  IntegerAttr shards; // moe.expert_shards of the parameter, if any
  // Under the distributed optimizer: the ranks that share the parameter's
  // AdamW state, and the length of each one's slice (0: not shared out).
  int64_t holders = 1, sliceLength = 0;
};

struct OptimizerPass : public moe::impl::OptimizerBase<OptimizerPass> {
  using OptimizerBase::OptimizerBase;
  void runOnOperation() override;

private:
  /// Makes @forward_backward add each gradient into its accumulator.
  LogicalResult accumulate(func::FuncOp step,
                           SmallVectorImpl<Gradient> &gradients);
  /// Reports an option out of its range.
  LogicalResult checkOptions(ModuleOp module, nn::LRDecayStyle style);
  /// Builds @optimizer_step over the accumulated gradients.
  LogicalResult buildStep(ModuleOp module, ArrayRef<Gradient> gradients);
  /// Sums each gradient over the ranks holding a copy of its parameter.
  SmallVector<Value> reduceOverRanks(OpBuilder &b, Location loc,
                                     ValueRange grads,
                                     ArrayRef<Gradient> gradients);
  /// The global norm of the reduced gradients and their clipping factor.
  std::pair<Value, Value> clipFactor(OpBuilder &b, Location loc,
                                     ArrayRef<Value> grads,
                                     ArrayRef<Gradient> gradients);
};

DictionaryAttr dictionary(OpBuilder &b, StringRef key, StringRef value) {
  return b.getDictionaryAttr(b.getNamedAttr(key, b.getStringAttr(value)));
}

/// The moe.expert_shards of the parameter `name` of `function`.
IntegerAttr shardsOf(func::FuncOp function, StringAttr name) {
  for (unsigned i = 0; i < function.getNumArguments(); ++i)
    if (function.getArgAttr(i, MoeDialect::getParamAttrName()) == name)
      return function.getArgAttrOfType<IntegerAttr>(
          i, MoeDialect::getExpertShardsAttrName());
  return {};
}

/// The attributes of a persistent argument `role` = `name`, sharded like
/// its parameter.
DictionaryAttr roleAttrs(OpBuilder &b, StringRef role, StringRef name,
                         IntegerAttr shards) {
  SmallVector<NamedAttribute> attrs{
      b.getNamedAttr(role, b.getStringAttr(name))};
  if (shards)
    attrs.push_back(
        b.getNamedAttr(MoeDialect::getExpertShardsAttrName(), shards));
  return b.getDictionaryAttr(attrs);
}

DictionaryAttr stateAttrs(OpBuilder &b, StringRef name, IntegerAttr shards) {
  return roleAttrs(b, MoeDialect::getStateAttrName(), name, shards);
}

/// The ranks that hold copies of the parameter of `g`.
moe::CommGroupAttr holderGroup(const Gradient &g) {
  return moe::CommGroupAttr::get(
      g.name.getContext(), g.shards ? moe::CommGroup::edp : moe::CommGroup::dp);
}

/// `value`, of the parameter of `g`, as one zero-padded dimension that its
/// holders' slices cover.
Value flattened(OpBuilder &b, Location loc, Value value, const Gradient &g) {
  return b.create<moe::FlattenOp>(
      loc, RankedTensorType::get({g.sliceLength * g.holders}, b.getF32Type()),
      value);
}

/// Has the op that computes a weight's whole gradient add it into the
/// accumulator itself (its `accumulate` operand), when it is one of the ops
/// that can; the gradient then never has a buffer of its own.
bool accumulateInPlace(Value grad, Value accumulator) {
  if (!grad.hasOneUse())
    return false;
  return TypeSwitch<Operation *, bool>(grad.getDefiningOp())
      .Case<nn::EmbeddingGradOp, nn::LinearGradWeightOp,
            moe::GroupedMatmulGradWeightOp>([&](auto op) {
        if (op.getAccumulate())
          return false;
        op.getAccumulateMutable().assign(accumulator);
        return true;
      })
      .Default([](Operation *) { return false; });
}

LogicalResult OptimizerPass::accumulate(func::FuncOp step,
                                        SmallVectorImpl<Gradient> &gradients) {
  OpBuilder b(step.getContext());
  auto ret = cast<func::ReturnOp>(step.getBody().front().getTerminator());
  SmallVector<Value> results(ret.getOperands());
  SmallVector<DictionaryAttr> resultAttrs;
  step.getAllResultAttrs(resultAttrs);
  for (unsigned i = 0; i < results.size(); ++i) {
    auto name =
        step.getResultAttrOfType<StringAttr>(i, MoeDialect::getGradAttrName());
    if (!name)
      continue;
    Type type = results[i].getType();
    IntegerAttr shards = shardsOf(step, name);
    if (shards && shards.getInt() != expertParallel)
      return step.emitError()
             << "'" << name.getValue() << "' is split into " << shards.getInt()
             << " shards, but ep = " << static_cast<int64_t>(expertParallel);
    std::string state = names::gradPrefix + name.str();
    unsigned index = step.getNumArguments();
    step.insertArgument(index, type, stateAttrs(b, state, shards),
                        step.getLoc());
    Value accumulator = step.getArgument(index);
    if (!accumulateInPlace(results[i], accumulator)) {
      // Add right where the gradient is complete, so that its buffer dies
      // there rather than living to the end of the step.
      if (Operation *producer = results[i].getDefiningOp())
        b.setInsertionPointAfter(producer);
      else
        b.setInsertionPoint(ret);
      results[i] = b.create<nn::AddOp>(step.getLoc(), accumulator, results[i]);
    }
    resultAttrs[i] = dictionary(b, MoeDialect::getUpdateAttrName(), state);
    int64_t holders = shards ? worldSize / expertParallel : worldSize;
    int64_t elements = cast<ShapedType>(type).getNumElements();
    int64_t slice =
        distributed && holders > 1 ? (elements + holders - 1) / holders : 0;
    gradients.push_back({name, type, shards, holders, slice});
  }
  if (gradients.empty())
    return step.emitError("returns no moe.grad results; run -moe-autodiff "
                          "first");
  b.setInsertionPoint(ret);
  b.create<func::ReturnOp>(ret.getLoc(), results);
  ret.erase();
  step.setAllResultAttrs(resultAttrs);
  return success();
}

FailureOr<nn::LRDecayStyle> parseStyle(StringRef style) {
  if (style == "constant")
    return nn::LRDecayStyle::constant;
  if (style == "linear")
    return nn::LRDecayStyle::linear;
  if (style == "cosine")
    return nn::LRDecayStyle::cosine;
  return failure();
}

/// The options' ranges, named as the pass spells them (the ops' verifiers
/// would report them at an unknown location, under the ops' names).
LogicalResult OptimizerPass::checkOptions(ModuleOp module,
                                          nn::LRDecayStyle style) {
  auto bad = [&](StringRef option, auto value, StringRef rule) {
    return module.emitError() << option << " " << rule << ", got " << value;
  };
  if (microBatches < 1)
    return bad("micro-batches", static_cast<int64_t>(microBatches),
               "must be at least 1");
  if (worldSize < 1)
    return bad("world-size", static_cast<int64_t>(worldSize),
               "must be at least 1");
  if (expertParallel < 1 || worldSize % expertParallel)
    return bad("ep", static_cast<int64_t>(expertParallel),
               llvm::formatv("must divide world-size = {0}",
                             static_cast<int64_t>(worldSize))
                   .str());
  if (lr < 0)
    return bad("lr", static_cast<double>(lr), "must be non-negative");
  if (minLr < 0 || minLr > lr)
    return bad("min-lr", static_cast<double>(minLr),
               "must be in [0, lr = " +
                   llvm::formatv("{0:e}", static_cast<double>(lr)).str() + "]");
  if (warmupIters < 0)
    return bad("warmup-iters", static_cast<int64_t>(warmupIters),
               "must be non-negative");
  if (decayIters < 0)
    return bad("decay-iters", static_cast<int64_t>(decayIters),
               "must be non-negative (0: the training run)");
  if (decayIters > 0 && style != nn::LRDecayStyle::constant &&
      decayIters <= warmupIters)
    return bad("decay-iters", static_cast<int64_t>(decayIters),
               llvm::formatv("must exceed warmup-iters = {0}",
                             static_cast<int64_t>(warmupIters))
                   .str());
  if (beta1 < 0 || beta1 >= 1)
    return bad("beta1", static_cast<double>(beta1), "must be in [0, 1)");
  if (beta2 < 0 || beta2 >= 1)
    return bad("beta2", static_cast<double>(beta2), "must be in [0, 1)");
  if (eps <= 0)
    return bad("eps", static_cast<double>(eps), "must be positive");
  if (weightDecay < 0)
    return bad("weight-decay", static_cast<double>(weightDecay),
               "must be non-negative");
  if (clipGrad < 0)
    return bad("clip-grad", static_cast<double>(clipGrad),
               "must be non-negative (0: no clipping)");
  return success();
}

SmallVector<Value>
OptimizerPass::reduceOverRanks(OpBuilder &b, Location loc, ValueRange grads,
                               ArrayRef<Gradient> gradients) {
  SmallVector<Value> reduced(grads);
  for (auto [grad, g] : llvm::zip(reduced, gradients)) {
    if (g.holders == 1)
      continue;
    if (g.sliceLength) {
      // The distributed optimizer: each holder keeps the sum of its slice.
      grad = b.create<moe::ReduceScatterOp>(
          loc, RankedTensorType::get({g.sliceLength}, b.getF32Type()),
          flattened(b, loc, grad, g), holderGroup(g),
          b.getI64IntegerAttr(g.holders));
      continue;
    }
    grad = b.create<moe::AllReduceOp>(
        loc, grad, holderGroup(g), b.getI64IntegerAttr(g.holders),
        moe::ReductionAttr::get(b.getContext(), moe::Reduction::sum));
  }
  return reduced;
}

std::pair<Value, Value>
OptimizerPass::clipFactor(OpBuilder &b, Location loc, ArrayRef<Value> grads,
                          ArrayRef<Gradient> gradients) {
  // The summed gradients of the global batch: micro-batches on each rank.
  FloatAttr maxNorm = b.getF64FloatAttr(clipGrad);
  FloatAttr scale = b.getF64FloatAttr(1.0 / (microBatches * worldSize));
  if (llvm::any_of(gradients,
                   [](const Gradient &g) { return g.sliceLength; })) {
    // Every rank holds different slices and experts: the squares of all of
    // them add over the world.
    Value squares = b.create<nn::SquareNormOp>(loc, grads);
    squares = b.create<moe::AllReduceOp>(
        loc, squares,
        moe::CommGroupAttr::get(b.getContext(), moe::CommGroup::world),
        b.getI64IntegerAttr(worldSize),
        moe::ReductionAttr::get(b.getContext(), moe::Reduction::sum));
    auto clip = b.create<nn::ClipFactorOp>(loc, squares, maxNorm, scale);
    return {clip.getNorm(), clip.getFactor()};
  }
  SmallVector<Value> dense, sharded;
  for (auto [grad, g] : llvm::zip(grads, gradients))
    (g.shards ? sharded : dense).push_back(grad);
  if (sharded.empty()) {
    auto clip = b.create<nn::ClipGradNormOp>(loc, dense, maxNorm, scale);
    return {clip.getNorm(), clip.getFactor()};
  }
  // Each member of an ep group holds different experts: their squares add.
  Value squares = b.create<nn::SquareNormOp>(loc, sharded);
  squares = b.create<moe::AllReduceOp>(
      loc, squares, moe::CommGroupAttr::get(b.getContext(), moe::CommGroup::ep),
      b.getI64IntegerAttr(expertParallel),
      moe::ReductionAttr::get(b.getContext(), moe::Reduction::sum));
  if (!dense.empty())
    squares =
        b.create<nn::AddOp>(loc, squares.getType(),
                            b.create<nn::SquareNormOp>(loc, dense), squares);
  auto clip = b.create<nn::ClipFactorOp>(loc, squares, maxNorm, scale);
  return {clip.getNorm(), clip.getFactor()};
}

LogicalResult OptimizerPass::buildStep(ModuleOp module,
                                       ArrayRef<Gradient> gradients) {
  FailureOr<nn::LRDecayStyle> style = parseStyle(decayStyle);
  if (failed(style))
    return module.emitError() << "unknown decay-style '" << decayStyle
                              << "' (constant, linear or cosine)";
  if (failed(checkOptions(module, *style)))
    return failure();
  OpBuilder b(module.getContext());
  Location loc = module.getLoc();
  Type scalarStep = RankedTensorType::get({}, b.getI64Type());

  // Arguments: the step, then per parameter its value, accumulated gradient
  // and the two moments; results: the rate, the norm, then the new values.
  // Without a decay length of its own, a decaying schedule spans the run.
  bool followsRun = decayIters == 0 && *style != nn::LRDecayStyle::constant;
  SmallVector<Type> argTypes{scalarStep};
  StringRef input = MoeDialect::getInputAttrName();
  SmallVector<DictionaryAttr> argAttrs{dictionary(b, input, names::step)};
  if (followsRun) {
    argTypes.push_back(scalarStep);
    argAttrs.push_back(dictionary(b, input, names::trainIters));
  }
  for (const char *role :
       {"", names::gradPrefix, names::expAvgPrefix, names::expAvgSqPrefix})
    for (const Gradient &g : gradients) {
      bool moment = StringRef(role) == names::expAvgPrefix ||
                    StringRef(role) == names::expAvgSqPrefix;
      if (!moment || !g.sliceLength) {
        argTypes.push_back(g.type);
        argAttrs.push_back(*role ? stateAttrs(b, role + g.name.str(), g.shards)
                                 : roleAttrs(b, MoeDialect::getParamAttrName(),
                                             g.name, g.shards));
        continue;
      }
      argTypes.push_back(
          RankedTensorType::get({g.sliceLength}, b.getF32Type()));
      SmallVector<NamedAttribute> attrs(
          stateAttrs(b, role + g.name.str(), g.shards).getValue());
      attrs.push_back(b.getNamedAttr(MoeDialect::getFlatShardsAttrName(),
                                     b.getI64IntegerAttr(g.holders)));
      argAttrs.push_back(b.getDictionaryAttr(attrs));
    }
  auto function = func::FuncOp::create(loc, names::optimizerStep,
                                       b.getFunctionType(argTypes, {}));
  function.setAllArgAttrs(argAttrs);
  module.push_back(function);
  Block *body = function.addEntryBlock();
  b.setInsertionPointToStart(body);

  size_t n = gradients.size(), first = followsRun ? 2 : 1;
  auto args = body->getArguments();
  Value step = args[0];
  Value trainIters = followsRun ? args[1] : Value();
  auto params = args.slice(first, n), grads = args.slice(first + n, n),
       expAvg = args.slice(first + 2 * n, n),
       expAvgSq = args.slice(first + 3 * n, n);
  IntegerAttr decay =
      decayIters > 0 ? b.getI64IntegerAttr(decayIters) : IntegerAttr();
  Value rate = b.create<nn::LRScheduleOp>(
      loc, step, trainIters, b.getF64FloatAttr(lr), b.getF64FloatAttr(minLr),
      b.getI64IntegerAttr(warmupIters), decay,
      nn::LRDecayStyleAttr::get(b.getContext(), *style));
  SmallVector<Value> reduced = reduceOverRanks(b, loc, grads, gradients);
  auto [norm, factor] = clipFactor(b, loc, reduced, gradients);

  // The runtime runs @forward_backward this many times a step.
  MoeDialect::MicroBatchesAttrHelper(b.getContext())
      .setAttr(module, b.getI64IntegerAttr(microBatches));

  SmallVector<Value> results{rate, norm};
  SmallVector<DictionaryAttr> resultAttrs{
      dictionary(b, MoeDialect::getResultAttrName(), names::lr),
      dictionary(b, MoeDialect::getResultAttrName(), names::gradNorm)};
  SmallVector<Value> newParams, newExpAvg, newExpAvgSq;
  for (size_t i = 0; i < n; ++i) {
    // Megatron decays neither biases nor 1-D parameters (norm weights).
    bool decays = cast<ShapedType>(gradients[i].type).getRank() > 1 &&
                  !gradients[i].name.getValue().ends_with(".bias");
    const Gradient &g = gradients[i];
    Value param = params[i];
    if (g.sliceLength)
      param = b.create<moe::LocalShardOp>(
          loc, expAvg[i].getType(), flattened(b, loc, param, g), holderGroup(g),
          b.getI64IntegerAttr(g.holders));
    auto update = b.create<nn::AdamWOp>(
        loc, param, reduced[i], expAvg[i], expAvgSq[i], rate, step, factor,
        b.getF64FloatAttr(beta1), b.getF64FloatAttr(beta2),
        b.getF64FloatAttr(eps), b.getF64FloatAttr(decays ? weightDecay : 0.0));
    Value updated = update.getNewParam();
    if (g.sliceLength) {
      // Every holder's updated slice, then the parameter again.
      Value whole = b.create<moe::AllGatherOp>(
          loc,
          RankedTensorType::get({g.sliceLength * g.holders}, b.getF32Type()),
          updated, holderGroup(g), b.getI64IntegerAttr(g.holders));
      updated = b.create<moe::UnflattenOp>(loc, g.type, whole);
    }
    newParams.push_back(updated);
    newExpAvg.push_back(update.getNewExpAvg());
    newExpAvgSq.push_back(update.getNewExpAvgSq());
  }
  auto append = [&](ArrayRef<Value> values, StringRef prefix) {
    for (auto [value, g] : llvm::zip(values, gradients)) {
      results.push_back(value);
      resultAttrs.push_back(dictionary(b, MoeDialect::getUpdateAttrName(),
                                       prefix.str() + g.name.str()));
    }
  };
  append(newParams, "");
  append(newExpAvg, names::expAvgPrefix);
  append(newExpAvgSq, names::expAvgSqPrefix);
  b.create<func::ReturnOp>(loc, results);
  SmallVector<Type> resultTypes;
  for (Value value : results)
    resultTypes.push_back(value.getType());
  function.setFunctionType(b.getFunctionType(argTypes, resultTypes));
  function.setAllResultAttrs(resultAttrs);
  return success();
}

void OptimizerPass::runOnOperation() {
  ModuleOp module = getOperation();
  auto step = module.lookupSymbol<func::FuncOp>(names::forwardBackward);
  if (!step) {
    module.emitError("has no func.func @forward_backward; run -moe-autodiff "
                     "first");
    return signalPassFailure();
  }
  if (module.lookupSymbol(names::optimizerStep)) {
    module.emitError("already holds an @optimizer_step");
    return signalPassFailure();
  }
  SmallVector<Gradient> gradients;
  if (failed(accumulate(step, gradients)) ||
      failed(buildStep(module, gradients)))
    signalPassFailure();
}

} // namespace
