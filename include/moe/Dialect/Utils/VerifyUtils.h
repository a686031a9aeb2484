//===- VerifyUtils.h - shape and attribute checks for verifiers -*- C++ -*-===//
//
// Small helpers shared by the op verifiers of the moe and nn dialects, so that
// the same kind of mistake reads the same way in every op.
//
//===----------------------------------------------------------------------===//

#ifndef MOE_DIALECT_UTILS_VERIFYUTILS_H
#define MOE_DIALECT_UTILS_VERIFYUTILS_H

#include "mlir/IR/Operation.h"
#include "mlir/Support/LogicalResult.h"

namespace mlir::verify_utils {

/// "expects <name> of rank <rank>, got rank <r>".
LogicalResult checkRank(Operation *op, StringRef name, Type type, int64_t rank);

/// "expects <name> of shape [a, b], got [c, d]".
LogicalResult checkShape(Operation *op, StringRef name, Type type,
                         ArrayRef<int64_t> shape);

/// "<what> (<got>) does not match <against> (<want>)".
LogicalResult checkEqual(Operation *op, StringRef what, int64_t got,
                         StringRef against, int64_t want);

/// "<what> (<divisor>) does not divide <into> (<n>)"; a divisor below 1 is
/// reported as "<what> must be at least 1, got <divisor>".
LogicalResult checkDivides(Operation *op, StringRef what, int64_t divisor,
                           StringRef into, int64_t n);

/// "<name> must be at least <min>, got <value>".
LogicalResult checkAtLeast(Operation *op, StringRef name, int64_t value,
                           int64_t min);

/// "<name> must be positive, got <value>".
LogicalResult checkPositive(Operation *op, StringRef name, double value);

/// "<name> must be non-negative, got <value>".
LogicalResult checkNonNegative(Operation *op, StringRef name, double value);

/// "<name> must be in [<lo>, <hi>), got <value>" (or "(lo, hi)" when
/// `openLow`).
LogicalResult checkInRange(Operation *op, StringRef name, double value,
                           double lo, double hi, bool openLow);

} // namespace mlir::verify_utils

#endif // MOE_DIALECT_UTILS_VERIFYUTILS_H
