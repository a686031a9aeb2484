//===- MoeSignatures.cpp - routers, routing and their losses --------------===//

#include "OpChecker.h"
#include "Signatures.h"

#include "plan_generated.h"

namespace moert {

namespace {

//===----------------------------------------------------------------------===//
// Router, jitter and routing
//===----------------------------------------------------------------------===//

Status checkRouter(const Plan &plan, const OpInfo &op) {
  OpChecker c(plan, op);
  MOERT_RETURN_IF_ERROR(c.arity(2, 0, 1));
  MOERT_RETURN_IF_ERROR(c.type(c.in(0), "input", DType::F32, 2));
  MOERT_RETURN_IF_ERROR(c.type(c.in(1), "weight", DType::F32, 2));
  MOERT_RETURN_IF_ERROR(
      c.shape(c.in(1), "weight", {rows(c.in(1)), cols(c.in(0))}));
  return c.shape(c.out(0), "logits", {rows(c.in(0)), rows(c.in(1))});
}

Status checkJitter(const Plan &plan, const OpInfo &op) {
  OpChecker c(plan, op);
  MOERT_RETURN_IF_ERROR(c.arity(2, 0, 1));
  MOERT_RETURN_IF_ERROR(c.floatAttr("eps"));
  MOERT_RETURN_IF_ERROR(c.type(c.in(1), "seed", DType::I64, 0));
  if (c.in(0).dtype != DType::F32)
    return c.fail("expects an f32 input");
  return c.shape(c.out(0), "output", c.in(0).shape);
}

/// [T, E] logits and [T, k] weights and indices.
Status checkTokenChoice(const Plan &plan, const OpInfo &op) {
  OpChecker c(plan, op);
  MOERT_RETURN_IF_ERROR(c.arity(1, 0, 2));
  MOERT_RETURN_IF_ERROR(c.type(c.in(0), "logits", DType::F32, 2));
  MOERT_RETURN_IF_ERROR(c.intAttr("k", 1));
  int64_t k = op.intAttr("k");
  if (k > cols(c.in(0)))
    return c.fail("k exceeds the number of experts");
  MOERT_RETURN_IF_ERROR(c.shape(c.out(0), "weights", {rows(c.in(0)), k}));
  MOERT_RETURN_IF_ERROR(c.type(c.out(1), "indices", DType::I32, 2));
  return c.shape(c.out(1), "indices", {rows(c.in(0)), k});
}

Status checkTopK(const Plan &plan, const OpInfo &op) {
  MOERT_RETURN_IF_ERROR(checkTokenChoice(plan, op));
  return OpChecker(plan, op).intAttr(
      "softmax", 0, static_cast<int64_t>(plan::SoftmaxPlacement::MAX));
}

Status checkSinkhorn(const Plan &plan, const OpInfo &op) {
  MOERT_RETURN_IF_ERROR(checkTokenChoice(plan, op));
  OpChecker c(plan, op);
  MOERT_RETURN_IF_ERROR(c.floatAttr("tol"));
  return c.boolAttr("evaluation");
}

Status checkExpertChoice(const Plan &plan, const OpInfo &op) {
  OpChecker c(plan, op);
  MOERT_RETURN_IF_ERROR(c.arity(1, 0, 3));
  MOERT_RETURN_IF_ERROR(c.type(c.in(0), "logits", DType::F32, 2));
  MOERT_RETURN_IF_ERROR(c.intAttr("capacity", 1));
  if (op.intAttr("capacity") > rows(c.in(0)))
    return c.fail("capacity exceeds the number of tokens");
  MOERT_RETURN_IF_ERROR(c.shape(c.out(0), "weights", c.in(0).shape));
  MOERT_RETURN_IF_ERROR(c.type(c.out(1), "indices", DType::I32, 2));
  MOERT_RETURN_IF_ERROR(c.shape(c.out(1), "indices", c.in(0).shape));
  MOERT_RETURN_IF_ERROR(c.type(c.out(2), "keep", DType::I1, 2));
  return c.shape(c.out(2), "keep", c.in(0).shape);
}

//===----------------------------------------------------------------------===//
// Losses
//===----------------------------------------------------------------------===//

Status checkAuxLoss(const Plan &plan, const OpInfo &op) {
  OpChecker c(plan, op);
  MOERT_RETURN_IF_ERROR(c.arity(2, 0, 1));
  MOERT_RETURN_IF_ERROR(c.type(c.in(0), "logits", DType::F32, 2));
  MOERT_RETURN_IF_ERROR(c.type(c.in(1), "indices", DType::I32, 2));
  if (rows(c.in(1)) != rows(c.in(0)))
    return c.fail("indices and logits differ in token count");
  MOERT_RETURN_IF_ERROR(c.floatAttr("coeff"));
  if (op.hasAttr("seq_length")) {
    MOERT_RETURN_IF_ERROR(c.intAttr("seq_length", 1));
    int64_t seq = op.intAttr("seq_length");
    if (seq < 1 || rows(c.in(0)) % seq)
      return c.fail("seq_length does not divide the token count");
  }
  return c.type(c.out(0), "loss", DType::F32, 0);
}

Status checkZLoss(const Plan &plan, const OpInfo &op) {
  OpChecker c(plan, op);
  MOERT_RETURN_IF_ERROR(c.arity(1, 0, 1));
  MOERT_RETURN_IF_ERROR(c.type(c.in(0), "logits", DType::F32, 2));
  MOERT_RETURN_IF_ERROR(c.floatAttr("coeff"));
  return c.type(c.out(0), "loss", DType::F32, 0);
}
} // namespace

std::vector<OpSignature> routingSignatures() {
  return {
      {"moe.router", checkRouter},
      {"moe.jitter", checkJitter},
      {"moe.topk", checkTopK},
      {"moe.sinkhorn", checkSinkhorn},
      {"moe.expert_choice", checkExpertChoice},
      {"moe.aux_loss", checkAuxLoss},
      {"moe.z_loss", checkZLoss},
  };
}

} // namespace moert
