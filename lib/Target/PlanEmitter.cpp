//===- PlanEmitter.cpp - the forward graph as a runtime plan --------------===//

#include "moe/Target/PlanEmitter.h"
#include "moe/Dialect/Moe/MoeOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"

#include "plan_generated.h"

using namespace mlir;
namespace plan = moert::plan;

namespace {

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

class Emitter {
public:
  Emitter(func::FuncOp function, const ::moe::target::PlanModelInfo &info)
      : function(function), info(info) {}

  LogicalResult run(std::vector<uint8_t> &bytes);

private:
  FailureOr<plan::DType> dtypeOf(Operation *where, Type type);
  FailureOr<int> addTensor(Operation *where, Value value, StringRef name,
                           plan::TensorKind kind, int64_t offset,
                           std::vector<uint8_t> data = {});
  LogicalResult addArguments();
  LogicalResult addConstant(arith::ConstantOp op);
  LogicalResult addOp(Operation *op);
  LogicalResult addAttributes(Operation *op,
                              std::vector<flatbuffers::Offset<plan::Attr>> &);
  void addExpertLoad(Operation *op);

  func::FuncOp function;
  const ::moe::target::PlanModelInfo &info;
  flatbuffers::FlatBufferBuilder fb;
  llvm::DenseMap<Value, int> tensorOf;
  std::vector<flatbuffers::Offset<plan::Tensor>> tensors;
  std::vector<flatbuffers::Offset<plan::Op>> ops;
  std::vector<flatbuffers::Offset<plan::NamedTensor>> inputs, results;
  std::vector<flatbuffers::Offset<plan::Parameter>> parameters;
  std::vector<flatbuffers::Offset<plan::ExpertLoad>> expertLoad;
  int moeLayerOrdinal = 0;
};

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
                                  std::vector<uint8_t> data) {
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
  tensors.push_back(plan::CreateTensorDirect(fb, name.str().c_str(), *dtype,
                                             &shape, kind, offset,
                                             data.empty() ? nullptr : &data));
  int index = static_cast<int>(tensors.size() - 1);
  tensorOf[value] = index;
  return index;
}

LogicalResult Emitter::addArguments() {
  for (BlockArgument arg : function.getArguments()) {
    unsigned i = arg.getArgNumber();
    if (auto input = function.getArgAttrOfType<StringAttr>(i, "moe.input")) {
      FailureOr<int> index = addTensor(function, arg, input.getValue(),
                                       plan::TensorKind::Input, 0);
      if (failed(index))
        return failure();
      inputs.push_back(
          plan::CreateNamedTensorDirect(fb, input.str().c_str(), *index));
      continue;
    }
    auto param = function.getArgAttrOfType<StringAttr>(i, "moe.param");
    if (!param)
      return function.emitError()
             << "argument " << i << " is neither an input nor a parameter";
    FailureOr<int> index = addTensor(function, arg, param.getValue(),
                                     plan::TensorKind::Parameter, 0);
    if (failed(index))
      return failure();
    parameters.push_back(plan::CreateParameterDirect(
        fb, param.str().c_str(), *index, initOf(param.getValue()),
        layerOf(param.getValue())));
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
  auto add = [&](StringRef key, int64_t i, double f) {
    attrs.push_back(plan::CreateAttrDirect(fb, key.str().c_str(), i, f));
  };
  for (NamedAttribute attr : op->getAttrs()) {
    StringRef key = attr.getName().getValue();
    if (key == "moe.offsets")
      continue;
    if (auto integer = dyn_cast<IntegerAttr>(attr.getValue()))
      add(key, integer.getValue().getSExtValue(), 0);
    else if (auto real = dyn_cast<FloatAttr>(attr.getValue()))
      add(key, 0, real.getValueAsDouble());
    else if (isa<UnitAttr>(attr.getValue()))
      add(key, 1, 0);
    else
      return op->emitError()
             << "attribute '" << key << "' has no plan encoding";
  }
  // Capacities are computed here, once, from the static shapes.
  if (auto capacity = dyn_cast<mlir::moe::CapacityOp>(op)) {
    auto shape = cast<ShapedType>(capacity.getWeights().getType()).getShape();
    int64_t experts =
        cast<ShapedType>(capacity.getCounts().getType()).getDimSize(0);
    add("capacity",
        mlir::moe::CapacityOp::computeCapacity(
            shape[0], shape[1], experts,
            capacity.getCapacityFactor().convertToDouble()),
        0);
    if (!capacity.getPadToCapacity())
      add("pad_to_capacity", 0, 0);
  }
  if (auto choice = dyn_cast<mlir::moe::ExpertChoiceOp>(op)) {
    auto shape = cast<ShapedType>(choice.getLogits().getType()).getShape();
    add("capacity",
        mlir::moe::ExpertChoiceOp::computeCapacity(
            shape[0], shape[1], choice.getCapacityFactor().convertToDouble()),
        0);
  }
  return success();
}

void Emitter::addExpertLoad(Operation *op) {
  Value logits = op->getOperand(0);
  int layer = -1;
  if (auto router = logits.getDefiningOp<mlir::moe::RouterOp>())
    if (auto arg = dyn_cast<BlockArgument>(router.getWeight()))
      if (auto name = function.getArgAttrOfType<StringAttr>(arg.getArgNumber(),
                                                            "moe.param"))
        layer = layerOf(name.getValue());
  if (layer < 0)
    layer = moeLayerOrdinal;
  ++moeLayerOrdinal;
  int keep =
      isa<mlir::moe::ExpertChoiceOp>(op) ? tensorOf[op->getResult(2)] : -1;
  expertLoad.push_back(
      plan::CreateExpertLoad(fb, layer, tensorOf[op->getResult(1)], keep));
}

LogicalResult Emitter::addOp(Operation *op) {
  auto offsets = op->getAttrOfType<DenseI64ArrayAttr>("moe.offsets");
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
    FailureOr<int> index = addTensor(
        op, result, kernel + "#" + std::to_string(ops.size()),
        plan::TensorKind::Activation, offsets[result.getResultNumber()]);
    if (failed(index))
      return failure();
    out.push_back(*index);
  }
  std::vector<flatbuffers::Offset<plan::Attr>> attrs;
  if (failed(addAttributes(op, attrs)))
    return failure();
  ops.push_back(plan::CreateOpDirect(fb, kernel.c_str(), &in, &out, &attrs));
  if (isa<mlir::moe::TopKOp, mlir::moe::SinkhornOp, mlir::moe::ExpertChoiceOp>(
          op))
    addExpertLoad(op);
  return success();
}

LogicalResult Emitter::run(std::vector<uint8_t> &bytes) {
  auto arena = function->getAttrOfType<IntegerAttr>("moe.arena_bytes");
  if (!arena)
    return function.emitError("has no memory plan; run -moe-plan-memory first");
  if (failed(addArguments()))
    return failure();
  for (Operation &op : function.getBody().front()) {
    if (auto constant = dyn_cast<arith::ConstantOp>(op)) {
      if (failed(addConstant(constant)))
        return failure();
    } else if (auto ret = dyn_cast<func::ReturnOp>(op)) {
      for (auto [i, value] : llvm::enumerate(ret.getOperands())) {
        auto name = function.getResultAttrOfType<StringAttr>(i, "moe.result");
        std::string label = name ? name.str() : "result" + std::to_string(i);
        results.push_back(
            plan::CreateNamedTensorDirect(fb, label.c_str(), tensorOf[value]));
      }
    } else if (failed(addOp(&op))) {
      return failure();
    }
  }
  ModuleOp module = function->getParentOfType<ModuleOp>();
  auto intAttr = [&](StringRef name) -> int64_t {
    auto attr = module->getAttrOfType<IntegerAttr>(name);
    return attr ? attr.getInt() : 0;
  };
  auto model = plan::CreateModelDirect(
      fb, intAttr("moe.seq_length"), intAttr("moe.micro_batch_size"),
      info.vocabSize, info.initMethodStd, info.seed, info.numLayers,
      info.numExperts, info.configJson.c_str());
  auto root = plan::CreatePlanDirect(
      fb, static_cast<uint32_t>(plan::PlanVersion::Current), arena.getInt(),
      &tensors, &ops, &inputs, &results, &parameters, &expertLoad, model);
  plan::FinishPlanBuffer(fb, root);
  bytes.assign(fb.GetBufferPointer(), fb.GetBufferPointer() + fb.GetSize());
  return success();
}

} // namespace

namespace moe::target {
LogicalResult emitPlan(ModuleOp module, const PlanModelInfo &info,
                       std::vector<uint8_t> &bytes) {
  auto function = module.lookupSymbol<func::FuncOp>("forward");
  if (!function)
    return module.emitError("has no func.func @forward to emit");
  return Emitter(function, info).run(bytes);
}
} // namespace moe::target
