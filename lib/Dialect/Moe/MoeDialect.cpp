//===- MoeDialect.cpp - the moe dialect -----------------------------------===//

#include "moe/Dialect/Moe/MoeDialect.h"
#include "moe/Dialect/Moe/MoeOps.h"
#include "moe/Dialect/NN/NNDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Interfaces/FunctionInterfaces.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FormatVariadic.h"

using namespace mlir;
using namespace mlir::moe;

#include "moe/MoeDialect.cpp.inc"
#include "moe/MoeEnums.cpp.inc"

void MoeDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "moe/MoeOps.cpp.inc"
      >();
}

Operation *MoeDialect::materializeConstant(OpBuilder &builder, Attribute value,
                                           Type type, Location loc) {
  return arith::ConstantOp::materialize(builder, value, type, loc);
}

//===----------------------------------------------------------------------===//
// The dialect's discardable attributes
//===----------------------------------------------------------------------===//

namespace {

/// Reports `attr` when `ok` is false: "'moe.x' must be <what>".
LogicalResult expect(Operation *op, NamedAttribute attr, bool ok,
                     StringRef what) {
  if (ok)
    return success();
  return op->emitError() << "'" << attr.getName().getValue() << "' must be "
                         << what;
}

bool isInteger(Attribute value, int64_t min) {
  auto integer = dyn_cast<IntegerAttr>(value);
  return integer && integer.getValue().getSExtValue() >= min;
}

bool isName(Attribute value) {
  auto text = dyn_cast<StringAttr>(value);
  return text && !text.getValue().empty();
}

/// An argument or result attribute `name` among `roles`, the only one of them
/// in `attrs`.
LogicalResult verifyRole(Operation *op, NamedAttribute attr,
                         ArrayRef<StringLiteral> roles, DictionaryAttr attrs,
                         StringRef where) {
  StringRef name = attr.getName().getValue();
  if (!llvm::is_contained(roles, name))
    return op->emitError() << where << ": unknown attribute '" << name
                           << "' of the moe dialect";
  if (!isName(attr.getValue()))
    return op->emitError() << where << ": '" << name
                           << "' must be a non-empty string";
  int count = 0;
  for (StringLiteral role : roles)
    count += attrs && attrs.contains(role);
  if (count > 1)
    return op->emitError() << where << " has more than one of '"
                           << llvm::join(roles, "', '") << "'";
  return success();
}

} // namespace

LogicalResult MoeDialect::verifyOperationAttribute(Operation *op,
                                                   NamedAttribute attr) {
  StringRef name = attr.getName().getValue();
  Attribute value = attr.getValue();
  if (name == SeqLengthAttrHelper::getNameStr() ||
      name == MicroBatchSizeAttrHelper::getNameStr() ||
      name == MicroBatchesAttrHelper::getNameStr()) {
    if (!isa<ModuleOp>(op))
      return op->emitError() << "'" << name << "' belongs on the module";
    return expect(op, attr, isInteger(value, 1), "a positive integer");
  }
  if (name == RecomputedAttrHelper::getNameStr())
    return expect(op, attr, isa<UnitAttr>(value), "a unit attribute");
  if (name == OffsetsAttrHelper::getNameStr()) {
    auto offsets = dyn_cast<DenseI64ArrayAttr>(value);
    if (failed(expect(op, attr, static_cast<bool>(offsets),
                      "an array of i64 offsets")))
      return failure();
    if (offsets.size() != static_cast<int64_t>(op->getNumResults()))
      return op->emitError()
             << "'" << name << "' holds " << offsets.size() << " offsets for "
             << op->getNumResults() << " results";
    return expect(op, attr,
                  llvm::all_of(offsets.asArrayRef(),
                               [](int64_t offset) { return offset >= -1; }),
                  "byte offsets, or -1 for a result outside the arena");
  }
  if (name == ArenaBytesAttrHelper::getNameStr() ||
      name == PeakLiveBytesAttrHelper::getNameStr() ||
      name == BufferBytesAttrHelper::getNameStr()) {
    if (!isa<FunctionOpInterface>(op))
      return op->emitError() << "'" << name << "' belongs on a function";
    return expect(op, attr, isInteger(value, 0), "a byte count");
  }
  return op->emitError() << "unknown attribute '" << name
                         << "' of the moe dialect";
}

LogicalResult MoeDialect::verifyRegionArgAttribute(Operation *op, unsigned,
                                                   unsigned argIndex,
                                                   NamedAttribute attr) {
  auto function = dyn_cast<FunctionOpInterface>(op);
  // A shard count goes with the roles whose tensors can be split.
  bool flat = attr.getName() == getFlatShardsAttrName();
  if (flat || attr.getName() == getExpertShardsAttrName()) {
    DictionaryAttr attrs =
        function ? function.getArgAttrDict(argIndex) : DictionaryAttr();
    bool marks = attrs && (attrs.contains(getStateAttrName()) ||
                           (!flat && attrs.contains(getParamAttrName())));
    if (!marks)
      return op->emitError() << "argument " << argIndex << ": '"
                             << attr.getName().getValue() << "' marks only "
                             << (flat ? "a state" : "a parameter or a state");
    return expect(op, attr, isInteger(attr.getValue(), 1),
                  "a positive number of shards");
  }
  return verifyRole(
      op, attr, {getInputAttrName(), getParamAttrName(), getStateAttrName()},
      function ? function.getArgAttrDict(argIndex) : DictionaryAttr(),
      llvm::formatv("argument {0}", argIndex).str());
}

LogicalResult MoeDialect::verifyRegionResultAttribute(Operation *op, unsigned,
                                                      unsigned resultIndex,
                                                      NamedAttribute attr) {
  auto function = dyn_cast<FunctionOpInterface>(op);
  return verifyRole(
      op, attr, {getResultAttrName(), getGradAttrName(), getUpdateAttrName()},
      function ? function.getResultAttrDict(resultIndex) : DictionaryAttr(),
      llvm::formatv("result {0}", resultIndex).str());
}
