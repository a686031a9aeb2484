//===- OpChecker.h - checking one op against its signature ------*- C++ -*-===//

#ifndef MOERT_SRC_PLAN_OPCHECKER_H
#define MOERT_SRC_PLAN_OPCHECKER_H

#include "moert/Plan.h"

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace moert {

/// Checks one op's operands and attributes; every failure names the op and
/// the operand or attribute.
class OpChecker {
public:
  OpChecker(const Plan &plan, const OpInfo &op) : plan(plan), op(op) {}

  /// `required` inputs, then up to `optional` more that may be -1.
  Status arity(size_t required, size_t optional, size_t outputs) const;
  bool hasInput(size_t i) const {
    return i < op.inputs.size() && op.inputs[i] >= 0;
  }
  const TensorInfo &in(size_t i) const { return plan.tensors[op.inputs[i]]; }
  const TensorInfo &out(size_t i) const { return plan.tensors[op.outputs[i]]; }

  /// The tensor's element type and rank.
  Status type(const TensorInfo &t, const char *what, DType dtype,
              size_t rank) const;
  Status shape(const TensorInfo &t, const char *what,
               const std::vector<int64_t> &shape) const;
  /// An integer attribute in [min, max]; enumerations are integers from 0.
  Status intAttr(const char *key, int64_t min,
                 int64_t max = std::numeric_limits<int64_t>::max()) const;
  Status floatAttr(const char *key) const;
  Status boolAttr(const char *key) const;
  Status fail(const std::string &message) const;

private:
  /// The attribute `key` exists and holds a `T`.
  template <typename T> Status attr(const char *key, const char *kind) const;

  const Plan &plan;
  const OpInfo &op;
};

/// Checks the optional `accumulate` operand `index` of a weight-gradient op:
/// f32 of output 0's shape.
Status checkAccumulate(const OpChecker &c, size_t index);

} // namespace moert

#endif // MOERT_SRC_PLAN_OPCHECKER_H
