//===- DenseSignatures.cpp - the nn dialect -------------------------------===//

#include "OpChecker.h"
#include "Signatures.h"

#include "plan_generated.h"

#include <fmt/format.h>

namespace moert {

namespace {

//===----------------------------------------------------------------------===//
// nn.embedding
//===----------------------------------------------------------------------===//

Status checkEmbedding(const Plan &plan, const OpInfo &op) {
  OpChecker c(plan, op);
  MOERT_RETURN_IF_ERROR(c.arity(2, 0, 1));
  MOERT_RETURN_IF_ERROR(c.type(c.in(0), "ids", DType::I32, 1));
  MOERT_RETURN_IF_ERROR(c.type(c.in(1), "table", DType::F32, 2));
  return c.shape(c.out(0), "output", {c.in(0).shape[0], cols(c.in(1))});
}

//===----------------------------------------------------------------------===//
// nn.linear
//===----------------------------------------------------------------------===//

Status checkLinear(const Plan &plan, const OpInfo &op) {
  OpChecker c(plan, op);
  MOERT_RETURN_IF_ERROR(c.arity(2, 1, 1));
  MOERT_RETURN_IF_ERROR(c.type(c.in(0), "input", DType::F32, 2));
  MOERT_RETURN_IF_ERROR(c.type(c.in(1), "weight", DType::F32, 2));
  MOERT_RETURN_IF_ERROR(
      c.shape(c.in(1), "weight", {rows(c.in(1)), cols(c.in(0))}));
  if (c.hasInput(2))
    MOERT_RETURN_IF_ERROR(c.shape(c.in(2), "bias", {rows(c.in(1))}));
  return c.shape(c.out(0), "output", {rows(c.in(0)), rows(c.in(1))});
}

//===----------------------------------------------------------------------===//
// nn.rmsnorm, nn.layernorm
//===----------------------------------------------------------------------===//

Status checkNorm(const Plan &plan, const OpInfo &op, size_t params) {
  OpChecker c(plan, op);
  MOERT_RETURN_IF_ERROR(c.arity(1 + params, 0, 1));
  MOERT_RETURN_IF_ERROR(c.type(c.in(0), "input", DType::F32, 2));
  for (size_t i = 1; i <= params; ++i)
    MOERT_RETURN_IF_ERROR(c.shape(c.in(i), "weight", {cols(c.in(0))}));
  MOERT_RETURN_IF_ERROR(c.floatAttr("eps"));
  return c.shape(c.out(0), "output", c.in(0).shape);
}

Status checkRMSNorm(const Plan &plan, const OpInfo &op) {
  return checkNorm(plan, op, 1);
}
Status checkLayerNorm(const Plan &plan, const OpInfo &op) {
  return checkNorm(plan, op, 2);
}

//===----------------------------------------------------------------------===//
// nn.rope
//===----------------------------------------------------------------------===//

Status checkRoPE(const Plan &plan, const OpInfo &op) {
  OpChecker c(plan, op);
  MOERT_RETURN_IF_ERROR(c.arity(1, 0, 1));
  MOERT_RETURN_IF_ERROR(c.type(c.in(0), "input", DType::F32, 2));
  MOERT_RETURN_IF_ERROR(c.intAttr("head_dim", 2));
  MOERT_RETURN_IF_ERROR(c.intAttr("seq_length", 1));
  MOERT_RETURN_IF_ERROR(c.floatAttr("theta"));
  int64_t headDim = op.intAttr("head_dim"), seq = op.intAttr("seq_length");
  if (headDim % 2 || cols(c.in(0)) % headDim || rows(c.in(0)) % seq)
    return c.fail("head_dim and seq_length do not divide " +
                  c.in(0).typeString());
  return c.shape(c.out(0), "output", c.in(0).shape);
}

//===----------------------------------------------------------------------===//
// nn.attention
//===----------------------------------------------------------------------===//

Status checkAttention(const Plan &plan, const OpInfo &op) {
  OpChecker c(plan, op);
  MOERT_RETURN_IF_ERROR(c.arity(3, 0, 1));
  MOERT_RETURN_IF_ERROR(c.type(c.in(0), "query", DType::F32, 2));
  MOERT_RETURN_IF_ERROR(c.type(c.in(1), "key", DType::F32, 2));
  MOERT_RETURN_IF_ERROR(c.shape(c.in(2), "value", c.in(1).shape));
  MOERT_RETURN_IF_ERROR(c.intAttr("num_heads", 1));
  MOERT_RETURN_IF_ERROR(c.intAttr("num_kv_heads", 1));
  MOERT_RETURN_IF_ERROR(c.intAttr("seq_length", 1));
  int64_t heads = op.intAttr("num_heads"), kvHeads = op.intAttr("num_kv_heads"),
          seq = op.intAttr("seq_length");
  const TensorInfo &q = c.in(0);
  if (cols(q) % heads || heads % kvHeads || rows(q) % seq)
    return c.fail("heads and seq_length do not divide " + q.typeString());
  MOERT_RETURN_IF_ERROR(
      c.shape(c.in(1), "key", {rows(q), kvHeads * (cols(q) / heads)}));
  return c.shape(c.out(0), "output", q.shape);
}

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

Status checkSameShapeBinary(const Plan &plan, const OpInfo &op) {
  OpChecker c(plan, op);
  MOERT_RETURN_IF_ERROR(c.arity(2, 0, 1));
  if (c.in(0).dtype != DType::F32)
    return c.fail("expects f32 operands");
  MOERT_RETURN_IF_ERROR(c.shape(c.in(1), "rhs", c.in(0).shape));
  return c.shape(c.out(0), "output", c.in(0).shape);
}

Status checkGeLU(const Plan &plan, const OpInfo &op) {
  OpChecker c(plan, op);
  MOERT_RETURN_IF_ERROR(c.arity(1, 0, 1));
  MOERT_RETURN_IF_ERROR(c.intAttr(
      "approximate", 0, static_cast<int64_t>(plan::GeluApproximation::MAX)));
  if (c.in(0).dtype != DType::F32)
    return c.fail("expects an f32 operand");
  return c.shape(c.out(0), "output", c.in(0).shape);
}

Status checkSigmoidGate(const Plan &plan, const OpInfo &op) {
  OpChecker c(plan, op);
  MOERT_RETURN_IF_ERROR(c.arity(2, 0, 1));
  MOERT_RETURN_IF_ERROR(c.type(c.in(0), "input", DType::F32, 2));
  MOERT_RETURN_IF_ERROR(c.shape(c.in(1), "gate", {rows(c.in(0)), 1}));
  return c.shape(c.out(0), "output", c.in(0).shape);
}

//===----------------------------------------------------------------------===//
// nn.cross_entropy
//===----------------------------------------------------------------------===//

Status checkCrossEntropy(const Plan &plan, const OpInfo &op) {
  OpChecker c(plan, op);
  MOERT_RETURN_IF_ERROR(c.arity(2, 1, 1));
  MOERT_RETURN_IF_ERROR(c.type(c.in(0), "logits", DType::F32, 2));
  MOERT_RETURN_IF_ERROR(c.type(c.in(1), "labels", DType::I32, 1));
  MOERT_RETURN_IF_ERROR(c.shape(c.in(1), "labels", {rows(c.in(0))}));
  if (c.hasInput(2))
    MOERT_RETURN_IF_ERROR(c.shape(c.in(2), "loss_mask", {rows(c.in(0))}));
  return c.type(c.out(0), "loss", DType::F32, 0);
}
} // namespace

std::vector<OpSignature> denseSignatures() {
  return {
      {"nn.embedding", checkEmbedding},
      {"nn.linear", checkLinear},
      {"nn.rmsnorm", checkRMSNorm},
      {"nn.layernorm", checkLayerNorm},
      {"nn.rope", checkRoPE},
      {"nn.attention", checkAttention},
      {"nn.add", checkSameShapeBinary},
      {"nn.swiglu", checkSameShapeBinary},
      {"nn.gelu", checkGeLU},
      {"nn.sigmoid_gate", checkSigmoidGate},
      {"nn.cross_entropy", checkCrossEntropy},
  };
}

} // namespace moert
