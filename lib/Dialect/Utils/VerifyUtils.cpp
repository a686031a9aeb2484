//===- VerifyUtils.cpp - shape and attribute checks for verifiers ---------===//

#include "moe/Dialect/Utils/VerifyUtils.h"

#include "mlir/IR/BuiltinTypes.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

namespace {
std::string formatShape(ArrayRef<int64_t> shape) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << '[';
  llvm::interleaveComma(shape, os);
  os << ']';
  return text;
}

// Shortest readable form of an attribute value: 1.1, 0.001, 1e-08.
std::string formatNumber(double value) {
  std::string text;
  llvm::raw_string_ostream(text) << llvm::format("%g", value);
  return text;
}
} // namespace

LogicalResult verify_utils::checkRank(Operation *op, StringRef name, Type type,
                                      int64_t rank) {
  auto shaped = cast<ShapedType>(type);
  if (shaped.getRank() == rank)
    return success();
  return op->emitOpError() << "expects " << name << " of rank " << rank
                           << ", got rank " << shaped.getRank();
}

LogicalResult verify_utils::checkShape(Operation *op, StringRef name, Type type,
                                       ArrayRef<int64_t> shape) {
  auto shaped = cast<ShapedType>(type);
  if (shaped.getShape() == shape)
    return success();
  return op->emitOpError() << "expects " << name << " of shape "
                           << formatShape(shape) << ", got "
                           << formatShape(shaped.getShape());
}

LogicalResult verify_utils::checkEqual(Operation *op, StringRef what,
                                       int64_t got, StringRef against,
                                       int64_t want) {
  if (got == want)
    return success();
  return op->emitOpError() << what << " (" << got << ") does not match "
                           << against << " (" << want << ")";
}

LogicalResult verify_utils::checkDivides(Operation *op, StringRef what,
                                         int64_t divisor, StringRef into,
                                         int64_t n) {
  if (failed(checkAtLeast(op, what, divisor, 1)))
    return failure();
  if (n % divisor == 0)
    return success();
  return op->emitOpError() << what << " (" << divisor << ") does not divide "
                           << into << " (" << n << ")";
}

LogicalResult verify_utils::checkAtLeast(Operation *op, StringRef name,
                                         int64_t value, int64_t min) {
  if (value >= min)
    return success();
  return op->emitOpError() << name << " must be at least " << min << ", got "
                           << value;
}

LogicalResult verify_utils::checkPositive(Operation *op, StringRef name,
                                          double value) {
  if (value > 0)
    return success();
  return op->emitOpError() << name << " must be positive, got "
                           << formatNumber(value);
}

LogicalResult verify_utils::checkNonNegative(Operation *op, StringRef name,
                                             double value) {
  if (value >= 0)
    return success();
  return op->emitOpError() << name << " must be non-negative, got "
                           << formatNumber(value);
}

LogicalResult verify_utils::checkInRange(Operation *op, StringRef name,
                                         double value, double lo, double hi,
                                         bool openLow) {
  bool aboveLow = openLow ? value > lo : value >= lo;
  if (aboveLow && value < hi)
    return success();
  return op->emitOpError() << name << " must be in " << (openLow ? '(' : '[')
                           << formatNumber(lo) << ", " << formatNumber(hi)
                           << "), got " << formatNumber(value);
}
