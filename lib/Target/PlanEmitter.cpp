//===- PlanEmitter.cpp - the forward graph as a runtime plan --------------===//

#include "moe/Target/PlanEmitter.h"
#include "moe/Dialect/Moe/MoeOps.h"
#include "moe/Dialect/NN/NNOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/OpImplementation.h"

#include "llvm/ADT/StringSet.h"

#include "moert/PlanNames.h"
#include "plan_generated.h"

using namespace mlir;
namespace plan = moert::plan;
namespace names = moert::names;
using mlir::moe::MoeDialect;

namespace {

// The plan stores enumerated attributes by their dialect's values.
template <typename A, typename B> constexpr bool sameValue(A a, B b) {
  return static_cast<int64_t>(a) == static_cast<int64_t>(b);
}
static_assert(sameValue(mlir::moe::SoftmaxPlacement::pre,
                        plan::SoftmaxPlacement::Pre) &&
              sameValue(mlir::moe::SoftmaxPlacement::post,
                        plan::SoftmaxPlacement::Post));
static_assert(sameValue(mlir::moe::DropPolicy::probs,
                        plan::DropPolicy::Probs) &&
              sameValue(mlir::moe::DropPolicy::position,
                        plan::DropPolicy::Position));
static_assert(sameValue(mlir::moe::CommGroup::dp, plan::CommGroup::DP) &&
              sameValue(mlir::moe::CommGroup::ep, plan::CommGroup::EP) &&
              sameValue(mlir::moe::CommGroup::edp, plan::CommGroup::EDP) &&
              sameValue(mlir::moe::CommGroup::world, plan::CommGroup::World));
static_assert(sameValue(mlir::moe::Reduction::sum, plan::Reduction::Sum) &&
              sameValue(mlir::moe::Reduction::mean, plan::Reduction::Mean) &&
              sameValue(mlir::moe::Reduction::max, plan::Reduction::Max));
static_assert(sameValue(mlir::nn::GeluApproximation::none,
                        plan::GeluApproximation::None) &&
              sameValue(mlir::nn::GeluApproximation::tanh,
                        plan::GeluApproximation::Tanh));
static_assert(
    sameValue(mlir::nn::LRDecayStyle::constant, plan::LRDecayStyle::Constant) &&
    sameValue(mlir::nn::LRDecayStyle::linear, plan::LRDecayStyle::Linear) &&
    sameValue(mlir::nn::LRDecayStyle::cosine, plan::LRDecayStyle::Cosine));

/// The decoder layer a parameter belongs to, from "model.layers.<n>.".
int layerOf(StringRef name) {
  if (!name.consume_front("model.layers."))
    return -1;
  int layer = -1;
  name.consumeInteger(10, layer);
  return layer;
}

/// Megatron's initialisation, chosen by the parameter's role.
plan::Init initOf(StringRef name) {
  if (name.ends_with(".bias"))
    return plan::Init::Zeros;
  if (name.ends_with("layernorm.weight") || name == "model.norm.weight")
    return plan::Init::Ones;
  if (name.ends_with("o_proj.weight") || name.ends_with("down_proj.weight") ||
      name.ends_with(".w2.weight"))
    return plan::Init::ScaledNormal;
  return plan::Init::Normal;
}

/// How a persistent tensor is split over ranks (see plan.fbs).
struct Layout {
  int64_t shards = 1;
  int64_t flatShards = 1;
  plan::CommGroup flatGroup = plan::CommGroup::DP;
  std::vector<int64_t> flatShape;
};

/// The plan's global tables (tensors, named inputs, parameters and states,
/// shared by every program) and one program per function.
class Emitter {
public:
  Emitter(const ::moe::target::PlanModelInfo &info,
          const ::moe::target::PlanTrainingInfo &training)
      : info(info), training(training) {}

  LogicalResult addProgram(func::FuncOp function);
  LogicalResult finish(ModuleOp module, std::vector<uint8_t> &bytes);

private:
  FailureOr<plan::DType> dtypeOf(Operation *where, Type type);
  FailureOr<int> addTensor(Operation *where, Value value, StringRef name,
                           plan::TensorKind kind, int64_t offset,
                           std::vector<uint8_t> data = {},
                           const Layout &layout = {});
  FailureOr<Layout> layoutOf(func::FuncOp function, unsigned arg,
                             StringRef name);
  FailureOr<int> addPersistent(func::FuncOp function, BlockArgument arg);
  LogicalResult addArguments(func::FuncOp function);
  LogicalResult addUpdates(func::FuncOp function);
  LogicalResult addConstant(arith::ConstantOp op);
  LogicalResult addOp(Operation *op);
  LogicalResult addAttributes(Operation *op,
                              std::vector<flatbuffers::Offset<plan::Attr>> &);
  void addExpertLoad(func::FuncOp function,
                     mlir::moe::RoutingOpInterface routing);
  std::string activationName(OpResult result);
  flatbuffers::Offset<plan::Schedule> addSchedule(ModuleOp module);

  const ::moe::target::PlanModelInfo &info;
  const ::moe::target::PlanTrainingInfo &training;
  flatbuffers::FlatBufferBuilder fb;
  std::vector<flatbuffers::Offset<plan::Tensor>> tensors;
  std::vector<flatbuffers::Offset<plan::Program>> programs;
  std::vector<flatbuffers::Offset<plan::NamedTensor>> inputs, states;
  std::vector<flatbuffers::Offset<plan::Parameter>> parameters;
  llvm::StringMap<int> persistent; // inputs, parameters and states by name

  // The program being emitted.
  llvm::DenseMap<Value, int> tensorOf;
  llvm::DenseMap<Value, int> updateOf; // results written in place
  std::vector<flatbuffers::Offset<plan::Op>> ops;
  std::vector<flatbuffers::Offset<plan::NamedTensor>> results;
  std::vector<flatbuffers::Offset<plan::ExpertLoad>> expertLoad;
  struct PendingLoad {
    int layer;
    Value indices, mask;
    bool drops;
  };
  std::vector<PendingLoad> pendingLoads;
  llvm::StringSet<> activationNames;
  int moeLayerOrdinal = 0;
};

/// The module path the graph builder named the op by ("model.layers.0.
/// block_sparse_moe.gate"), with the result's own name when the op has
/// several (".router.indices"); the kernel and op position otherwise, and
/// for a second op of the same path (a backward op keeps its forward op's
/// location).
std::string Emitter::activationName(OpResult result) {
  Operation *op = result.getOwner();
  std::string position = "#" + std::to_string(ops.size());
  auto path = dyn_cast<NameLoc>(op->getLoc());
  if (!path)
    return op->getName().getStringRef().str() + position;
  std::string name = path.getName().str();
  if (op->getNumResults() > 1) {
    std::string suffix = "." + std::to_string(result.getResultNumber());
    if (auto asmOp = dyn_cast<OpAsmOpInterface>(op))
      asmOp.getAsmResultNames([&](Value value, StringRef text) {
        if (value == result)
          suffix = "." + text.str();
      });
    name += suffix;
  }
  if (!activationNames.insert(name).second)
    name += position;
  return name;
}

FailureOr<plan::DType> Emitter::dtypeOf(Operation *where, Type type) {
  if (type.isF32())
    return plan::DType::F32;
  if (type.isInteger(32))
    return plan::DType::I32;
  if (type.isInteger(64))
    return plan::DType::I64;
  if (type.isInteger(1))
    return plan::DType::I1;
  return where->emitError() << "the CPU plan has no element type " << type;
}

FailureOr<int> Emitter::addTensor(Operation *where, Value value, StringRef name,
                                  plan::TensorKind kind, int64_t offset,
                                  std::vector<uint8_t> data,
                                  const Layout &layout) {
  Type type = value.getType();
  std::vector<int64_t> shape;
  Type element = type;
  if (auto tensor = dyn_cast<RankedTensorType>(type)) {
    shape.assign(tensor.getShape().begin(), tensor.getShape().end());
    element = tensor.getElementType();
  }
  FailureOr<plan::DType> dtype = dtypeOf(where, element);
  if (failed(dtype))
    return failure();
  tensors.push_back(plan::CreateTensorDirect(
      fb, name.str().c_str(), *dtype, &shape, kind, offset,
      data.empty() ? nullptr : &data, layout.shards, layout.flatShards,
      layout.flatGroup, layout.flatShards > 1 ? &layout.flatShape : nullptr));
  int index = static_cast<int>(tensors.size() - 1);
  tensorOf[value] = index;
  return index;
}

/// The tensor of an input, parameter or state argument: one per name across
/// the programs.
FailureOr<int> Emitter::addPersistent(func::FuncOp function,
                                      BlockArgument arg) {
  unsigned i = arg.getArgNumber();
  StringRef roles[] = {MoeDialect::getInputAttrName(),
                       MoeDialect::getParamAttrName(),
                       MoeDialect::getStateAttrName()};
  for (StringRef role : roles) {
    auto name = function.getArgAttrOfType<StringAttr>(i, role);
    if (!name)
      continue;
    auto it = persistent.find(name.getValue());
    if (it != persistent.end()) {
      tensorOf[arg] = it->second;
      return it->second;
    }
    plan::TensorKind kind = role == roles[0]   ? plan::TensorKind::Input
                            : role == roles[1] ? plan::TensorKind::Parameter
                                               : plan::TensorKind::State;
    FailureOr<Layout> layout = layoutOf(function, i, name.getValue());
    if (failed(layout))
      return failure();
    FailureOr<int> index =
        addTensor(function, arg, name.getValue(), kind, 0, {}, *layout);
    if (failed(index))
      return failure();
    persistent[name.getValue()] = *index;
    std::string label = name.str();
    if (kind == plan::TensorKind::Input)
      inputs.push_back(
          plan::CreateNamedTensorDirect(fb, label.c_str(), *index));
    else if (kind == plan::TensorKind::State)
      states.push_back(
          plan::CreateNamedTensorDirect(fb, label.c_str(), *index));
    else
      parameters.push_back(plan::CreateParameterDirect(
          fb, label.c_str(), *index, initOf(name.getValue()),
          layerOf(name.getValue())));
    return *index;
  }
  return function.emitError()
         << "argument " << i << " is neither an input, a parameter nor a state";
}

/// A moment of the distributed optimizer takes its flat layout from its
/// parameter, an argument of the same function.
FailureOr<Layout> Emitter::layoutOf(func::FuncOp function, unsigned arg,
                                    StringRef name) {
  Layout layout;
  if (auto shards = function.getArgAttrOfType<IntegerAttr>(
          arg, MoeDialect::getExpertShardsAttrName()))
    layout.shards = shards.getInt();
  auto flat = function.getArgAttrOfType<IntegerAttr>(
      arg, MoeDialect::getFlatShardsAttrName());
  if (!flat)
    return layout;
  layout.flatShards = flat.getInt();
  layout.flatGroup =
      layout.shards > 1 ? plan::CommGroup::EDP : plan::CommGroup::DP;
  for (StringRef prefix : {names::expAvgPrefix, names::expAvgSqPrefix}) {
    if (!name.starts_with(prefix))
      continue;
    auto paramName =
        StringAttr::get(function.getContext(), name.drop_front(prefix.size()));
    for (BlockArgument param : function.getArguments())
      if (function.getArgAttr(param.getArgNumber(),
                              MoeDialect::getParamAttrName()) == paramName) {
        auto shape = cast<ShapedType>(param.getType()).getShape();
        layout.flatShape.assign(shape.begin(), shape.end());
        return layout;
      }
  }
  return function.emitError() << "argument " << arg << " ('" << name
                              << "') is a flat shard of no parameter";
}

LogicalResult Emitter::addArguments(func::FuncOp function) {
  for (BlockArgument arg : function.getArguments())
    if (failed(addPersistent(function, arg)))
      return failure();
  return success();
}

/// A result marked `moe.update = "<name>"` is written by its op straight into
/// the persistent tensor it replaces; that is only sound when the old value
/// has no reader after that op.
LogicalResult Emitter::addUpdates(func::FuncOp function) {
  auto ret = cast<func::ReturnOp>(function.getBody().front().getTerminator());
  for (auto [i, value] : llvm::enumerate(ret.getOperands())) {
    auto name = function.getResultAttrOfType<StringAttr>(
        i, MoeDialect::getUpdateAttrName());
    if (!name)
      continue;
    auto target = persistent.find(name.getValue());
    Operation *writer = value.getDefiningOp();
    if (target == persistent.end() || !writer ||
        isa<arith::ConstantOp>(writer) || !value.hasOneUse())
      return function.emitError()
             << "result " << i << " updates '" << name.getValue()
             << "', which must be an argument of the function, from an op "
                "result used only by the return";
    for (BlockArgument arg : function.getArguments())
      if (tensorOf.lookup(arg) == target->second)
        for (Operation *user : arg.getUsers())
          if (user != writer && writer->isBeforeInBlock(user))
            return user->emitError()
                   << "reads '" << name.getValue()
                   << "' after the op that updates it in place";
    updateOf[value] = target->second;
  }
  return success();
}

LogicalResult Emitter::addConstant(arith::ConstantOp op) {
  auto elements = dyn_cast<DenseElementsAttr>(op.getValue());
  if (!elements)
    return op.emitError("the plan stores only dense tensor constants");
  std::vector<uint8_t> data;
  auto append = [&](const void *value, size_t size) {
    const auto *begin = static_cast<const uint8_t *>(value);
    data.insert(data.end(), begin, begin + size);
  };
  Type element = elements.getElementType();
  if (element.isF32()) {
    for (float value : elements.getValues<float>())
      append(&value, sizeof(value));
  } else if (element.isInteger(1)) {
    for (bool value : elements.getValues<bool>()) {
      uint8_t byte = value;
      append(&byte, 1);
    }
  } else if (element.isInteger(32) || element.isInteger(64)) {
    for (const APInt &value : elements.getValues<APInt>()) {
      int64_t wide = value.getSExtValue();
      if (element.isInteger(32)) {
        int32_t narrow = static_cast<int32_t>(wide);
        append(&narrow, sizeof(narrow));
      } else {
        append(&wide, sizeof(wide));
      }
    }
  } else {
    return op.emitError() << "the plan has no constants of " << element;
  }
  return addTensor(op, op.getResult(), "constant", plan::TensorKind::Constant,
                   0, std::move(data));
}

LogicalResult
Emitter::addAttributes(Operation *op,
                       std::vector<flatbuffers::Offset<plan::Attr>> &attrs) {
  auto add = [&](StringRef key, plan::AttrValue kind,
                 flatbuffers::Offset<void> value) {
    attrs.push_back(
        plan::CreateAttr(fb, fb.CreateString(key.str()), kind, value));
  };
  auto addInt = [&](StringRef key, int64_t value) {
    add(key, plan::AttrValue::IntAttr, plan::CreateIntAttr(fb, value).Union());
  };
  auto addBool = [&](StringRef key, bool value) {
    add(key, plan::AttrValue::BoolAttr,
        plan::CreateBoolAttr(fb, value).Union());
  };
  for (NamedAttribute attr : op->getAttrs()) {
    StringRef key = attr.getName().getValue();
    if (isa_and_nonnull<MoeDialect>(attr.getNameDialect()))
      continue; // the compiler's own annotations
    if (auto flag = dyn_cast<BoolAttr>(attr.getValue()))
      addBool(key, flag.getValue());
    else if (isa<UnitAttr>(attr.getValue()))
      addBool(key, true);
    else if (auto integer = dyn_cast<IntegerAttr>(attr.getValue()))
      addInt(key, integer.getValue().getSExtValue());
    else if (auto real = dyn_cast<FloatAttr>(attr.getValue()))
      add(key, plan::AttrValue::FloatAttr,
          plan::CreateFloatAttr(fb, real.getValueAsDouble()).Union());
    else
      return op->emitError()
             << "attribute '" << key << "' has no plan encoding";
  }
  // Capacities are computed here, once, from the static shapes; an absent
  // unit attribute is false.
  if (auto capacity = dyn_cast<mlir::moe::CapacityOp>(op)) {
    auto shape = cast<ShapedType>(capacity.getWeights().getType()).getShape();
    int64_t experts =
        cast<ShapedType>(capacity.getCounts().getType()).getDimSize(0);
    addInt("capacity", mlir::moe::CapacityOp::computeCapacity(
                           shape[0], shape[1], experts,
                           capacity.getCapacityFactor().convertToDouble()));
    if (!capacity.getPadToCapacity())
      addBool("pad_to_capacity", false);
  }
  if (auto sort = dyn_cast<mlir::moe::SortChunksOp>(op))
    if (!sort.getInverse())
      addBool("inverse", false);
  if (auto sinkhorn = dyn_cast<mlir::moe::SinkhornOp>(op))
    if (!sinkhorn.getEvaluation())
      addBool("evaluation", false);
  if (auto choice = dyn_cast<mlir::moe::ExpertChoiceOp>(op)) {
    auto shape = cast<ShapedType>(choice.getLogits().getType()).getShape();
    addInt("capacity", mlir::moe::ExpertChoiceOp::computeCapacity(
                           shape[0], shape[1],
                           choice.getCapacityFactor().convertToDouble()));
  }
  return success();
}

/// The MoE layer of a routing decision is that of its router's weight.
void Emitter::addExpertLoad(func::FuncOp function,
                            mlir::moe::RoutingOpInterface routing) {
  int layer = -1;
  if (auto router =
          routing.getRouterLogits().getDefiningOp<mlir::moe::RouterOp>())
    if (auto arg = dyn_cast<BlockArgument>(router.getWeight()))
      if (auto name = function.getArgAttrOfType<StringAttr>(
              arg.getArgNumber(), MoeDialect::getParamAttrName()))
        layer = layerOf(name.getValue());
  if (layer < 0)
    layer = moeLayerOrdinal;
  ++moeLayerOrdinal;
  // With a capacity the experts take what it keeps: count those, and the
  // rest as dropped.
  bool drops = false;
  Value mask = mlir::moe::expertsKeepMask(routing, drops);
  // The mask may come from an op not emitted yet: resolved at the end.
  pendingLoads.push_back({layer, routing.getRoutingIndices(), mask, drops});
}

LogicalResult Emitter::addOp(Operation *op) {
  auto offsets = MoeDialect::OffsetsAttrHelper(op->getContext()).getAttr(op);
  if (!offsets || offsets.size() != static_cast<int64_t>(op->getNumResults()))
    return op->emitError("has no arena offsets; run -moe-plan-memory first");
  std::vector<int> in, out;
  for (Value operand : op->getOperands()) {
    auto it = tensorOf.find(operand);
    if (it == tensorOf.end())
      return op->emitError("uses a value the plan does not hold");
    in.push_back(it->second);
  }
  std::string kernel = op->getName().getStringRef().str();
  for (OpResult result : op->getResults()) {
    if (auto update = updateOf.find(result); update != updateOf.end()) {
      tensorOf[result] = update->second;
      out.push_back(update->second);
      continue;
    }
    FailureOr<int> index = addTensor(op, result, activationName(result),
                                     plan::TensorKind::Activation,
                                     offsets[result.getResultNumber()]);
    if (failed(index))
      return failure();
    out.push_back(*index);
  }
  std::vector<flatbuffers::Offset<plan::Attr>> attrs;
  if (failed(addAttributes(op, attrs)))
    return failure();
  ops.push_back(plan::CreateOpDirect(fb, kernel.c_str(), &in, &out, &attrs));
  // A recomputed routing decision repeats one already counted.
  if (auto routing = dyn_cast<mlir::moe::RoutingOpInterface>(op))
    if (!MoeDialect::RecomputedAttrHelper(op->getContext()).isAttrPresent(op))
      addExpertLoad(op->getParentOfType<func::FuncOp>(), routing);
  return success();
}

LogicalResult Emitter::addProgram(func::FuncOp function) {
  auto arena =
      MoeDialect::ArenaBytesAttrHelper(function.getContext()).getAttr(function);
  if (!arena)
    return function.emitError("has no memory plan; run -moe-plan-memory first");
  tensorOf.clear();
  updateOf.clear();
  ops.clear();
  results.clear();
  expertLoad.clear();
  pendingLoads.clear();
  activationNames.clear();
  moeLayerOrdinal = 0;
  if (failed(addArguments(function)) || failed(addUpdates(function)))
    return failure();
  for (Operation &op : function.getBody().front()) {
    if (auto constant = dyn_cast<arith::ConstantOp>(op)) {
      if (failed(addConstant(constant)))
        return failure();
    } else if (auto ret = dyn_cast<func::ReturnOp>(op)) {
      for (auto [i, value] : llvm::enumerate(ret.getOperands())) {
        if (function.getResultAttr(i, MoeDialect::getUpdateAttrName()))
          continue;
        std::string label = "result" + std::to_string(i);
        if (auto name = function.getResultAttrOfType<StringAttr>(
                i, MoeDialect::getResultAttrName()))
          label = name.str();
        else if (auto grad = function.getResultAttrOfType<StringAttr>(
                     i, MoeDialect::getGradAttrName()))
          label = names::gradPrefix + grad.str();
        results.push_back(
            plan::CreateNamedTensorDirect(fb, label.c_str(), tensorOf[value]));
      }
    } else if (isa<mlir::moe::BeginBackwardOp>(op)) {
      continue; // a position in the IR, nothing to run
    } else if (failed(addOp(&op))) {
      return failure();
    }
  }
  for (const PendingLoad &load : pendingLoads)
    expertLoad.push_back(plan::CreateExpertLoad(
        fb, load.layer, tensorOf.lookup(load.indices),
        load.mask ? tensorOf.lookup(load.mask) : -1, load.drops));
  programs.push_back(
      plan::CreateProgramDirect(fb, function.getName().str().c_str(),
                                arena.getInt(), &ops, &results, &expertLoad));
  return success();
}

/// The schedule that @optimizer_step's nn.lr_schedule computes, if there is
/// one: decay_iters 0 when it spans the run (its train_iters input).
flatbuffers::Offset<plan::Schedule> Emitter::addSchedule(ModuleOp module) {
  auto step = module.lookupSymbol<func::FuncOp>(names::optimizerStep);
  if (!step)
    return 0;
  nn::LRScheduleOp schedule;
  step.walk([&](nn::LRScheduleOp op) { schedule = op; });
  if (!schedule)
    return 0;
  std::optional<uint64_t> decay = schedule.getDecayIters();
  return plan::CreateSchedule(
      fb, schedule.getLr().convertToDouble(),
      schedule.getMinLr().convertToDouble(), schedule.getWarmupIters(),
      decay ? static_cast<int64_t>(*decay) : 0,
      static_cast<plan::LRDecayStyle>(schedule.getStyle()));
}

LogicalResult Emitter::finish(ModuleOp module, std::vector<uint8_t> &bytes) {
  MLIRContext *context = module.getContext();
  auto seqLength = MoeDialect::SeqLengthAttrHelper(context).getAttr(module);
  auto microBatchSize =
      MoeDialect::MicroBatchSizeAttrHelper(context).getAttr(module);
  if (!seqLength || !microBatchSize)
    return module.emitError("has no moe.seq_length and moe.micro_batch_size "
                            "to train with");
  auto microBatches =
      MoeDialect::MicroBatchesAttrHelper(context).getAttr(module);
  auto model = plan::CreateModelDirect(
      fb, info.vocabSize, info.initMethodStd, info.seed, info.numLayers,
      info.numExperts, info.configJson.c_str());
  std::vector<flatbuffers::Offset<flatbuffers::String>> dataPath;
  for (const std::string &path : training.dataPath)
    dataPath.push_back(fb.CreateString(path));
  auto schedule = addSchedule(module);
  auto trainingTable = plan::CreateTrainingDirect(
      fb, seqLength.getInt(), microBatchSize.getInt(), training.globalBatchSize,
      microBatches ? microBatches.getInt() : 1, training.logInterval,
      training.evalInterval, training.evalIters, training.saveInterval,
      training.save.c_str(), training.tensorboardDir.c_str(), &dataPath,
      training.split.c_str(), training.perLayerLogging, schedule,
      training.worldSize, training.expertParallelSize,
      training.dataParallelSize);
  auto root = plan::CreatePlanDirect(
      fb, static_cast<uint32_t>(plan::PlanVersion::Current), &tensors,
      &programs, &inputs, &parameters, &states, model, trainingTable);
  plan::FinishPlanBuffer(fb, root);
  bytes.assign(fb.GetBufferPointer(), fb.GetBufferPointer() + fb.GetSize());
  return success();
}

} // namespace

namespace moe::target {
LogicalResult emitPlan(ModuleOp module, const PlanModelInfo &info,
                       const PlanTrainingInfo &training,
                       std::vector<uint8_t> &bytes) {
  Emitter emitter(info, training);
  bool any = false;
  for (StringRef name :
       {names::forward, names::forwardBackward, names::optimizerStep}) {
    auto function = module.lookupSymbol<func::FuncOp>(name);
    if (!function)
      continue;
    any = true;
    if (failed(emitter.addProgram(function)))
      return failure();
  }
  if (!any)
    return module.emitError("has no func.func @forward to emit");
  return emitter.finish(module, bytes);
}
} // namespace moe::target
