//===- KernelSupport.cpp - checking operands of a plan op -----------------===//

#include "KernelSupport.h"

#include <cblas.h>

#include <sstream>

namespace moert::cpu {

Status OpChecker::fail(const std::string &message) const {
  return Status::error("op " + op.kernel + ": " + message);
}

Status OpChecker::arity(size_t required, size_t optional,
                        size_t outputs) const {
  if (op.inputs.size() < required || op.inputs.size() > required + optional)
    return fail("expects " + std::to_string(required) +
                (optional ? " to " + std::to_string(required + optional) : "") +
                " inputs, got " + std::to_string(op.inputs.size()));
  for (size_t i = 0; i < required; ++i)
    if (op.inputs[i] < 0)
      return fail("input " + std::to_string(i) + " is missing");
  if (op.outputs.size() != outputs)
    return fail("expects " + std::to_string(outputs) + " outputs, got " +
                std::to_string(op.outputs.size()));
  return Status();
}

Status OpChecker::type(const TensorInfo &t, const char *what, DType dtype,
                       size_t rank) const {
  if (t.dtype != dtype || t.shape.size() != rank)
    return fail(std::string(what) + " must be a rank-" + std::to_string(rank) +
                " " + dtypeName(dtype) + " tensor, got " + t.typeString());
  return Status();
}

Status OpChecker::shape(const TensorInfo &t, const char *what,
                        const std::vector<int64_t> &expected) const {
  if (t.shape == expected)
    return Status();
  std::ostringstream os;
  os << what << " must have shape [";
  for (size_t i = 0; i < expected.size(); ++i)
    os << (i ? ", " : "") << expected[i];
  os << "], got " << t.typeString();
  return fail(os.str());
}

Status OpChecker::intAttr(const char *key, int64_t min) const {
  auto it = op.intAttrs.find(key);
  if (it == op.intAttrs.end())
    return fail(std::string("lacks attribute '") + key + "'");
  if (it->second < min)
    return fail(std::string("attribute '") + key + "' must be at least " +
                std::to_string(min) + ", got " + std::to_string(it->second));
  return Status();
}

Status OpChecker::floatAttr(const char *key) const {
  if (!op.floatAttrs.count(key))
    return fail(std::string("lacks attribute '") + key + "'");
  return Status();
}

Status checkExpertIndices(const int32_t *indices, int64_t count,
                          int64_t experts) {
  for (int64_t i = 0; i < count; ++i)
    if (indices[i] < 0 || indices[i] >= experts)
      return Status::error("routing index " + std::to_string(indices[i]) +
                           " is not an expert of " + std::to_string(experts));
  return Status();
}

void matmulTransB(const float *a, const float *b, float *c, int64_t m,
                  int64_t n, int64_t k, int64_t lda, int64_t ldb, int64_t ldc,
                  float beta) {
  if (m == 0 || n == 0)
    return;
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0f, a, lda, b,
              ldb, beta, c, ldc);
}

} // namespace moert::cpu
