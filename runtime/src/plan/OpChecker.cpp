//===- OpChecker.cpp - checking one op against its signature --------------===//

#include "OpChecker.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace moert {

Status OpChecker::fail(const std::string &message) const {
  return Status::error(fmt::format("op {}: {}", op.kernel, message));
}

Status OpChecker::arity(size_t required, size_t optional,
                        size_t outputs) const {
  if (op.inputs.size() < required || op.inputs.size() > required + optional)
    return fail(
        fmt::format("expects {}{} inputs, got {}", required,
                    optional ? fmt::format(" to {}", required + optional) : "",
                    op.inputs.size()));
  for (size_t i = 0; i < required; ++i)
    if (op.inputs[i] < 0)
      return fail(fmt::format("input {} is missing", i));
  if (op.outputs.size() != outputs)
    return fail(
        fmt::format("expects {} outputs, got {}", outputs, op.outputs.size()));
  return Status();
}

Status OpChecker::type(const TensorInfo &t, const char *what, DType dtype,
                       size_t rank) const {
  if (t.dtype != dtype || t.shape.size() != rank)
    return fail(fmt::format("{} must be a rank-{} {} tensor, got {}", what,
                            rank, dtypeName(dtype), t.typeString()));
  return Status();
}

Status OpChecker::shape(const TensorInfo &t, const char *what,
                        const std::vector<int64_t> &expected) const {
  if (t.shape == expected)
    return Status();
  return fail(fmt::format("{} must have shape [{}], got {}", what,
                          fmt::join(expected, ", "), t.typeString()));
}

template <typename T>
Status OpChecker::attr(const char *key, const char *kind) const {
  auto it = op.attrs.find(key);
  if (it == op.attrs.end())
    return fail(fmt::format("lacks attribute '{}'", key));
  if (!std::holds_alternative<T>(it->second))
    return fail(fmt::format("attribute '{}' must be {}, got {}", key, kind,
                            attrKindName(it->second)));
  return Status();
}

Status OpChecker::intAttr(const char *key, int64_t min, int64_t max) const {
  MOERT_RETURN_IF_ERROR(attr<int64_t>(key, "an int"));
  int64_t value = op.intAttr(key);
  if (value < min)
    return fail(fmt::format("attribute '{}' must be at least {}, got {}", key,
                            min, value));
  if (value > max)
    return fail(fmt::format("attribute '{}' must be at most {}, got {}", key,
                            max, value));
  return Status();
}

Status OpChecker::floatAttr(const char *key) const {
  return attr<double>(key, "a float");
}

Status OpChecker::boolAttr(const char *key) const {
  return attr<bool>(key, "a bool");
}

Status checkAccumulate(const OpChecker &c, size_t index) {
  if (!c.hasInput(index))
    return Status();
  MOERT_RETURN_IF_ERROR(
      c.type(c.in(index), "accumulate", DType::F32, c.out(0).shape.size()));
  return c.shape(c.in(index), "accumulate", c.out(0).shape);
}

} // namespace moert
