//===- MoeGradSignatures.cpp - the moe gradient ops -----------------------===//

#include "OpChecker.h"
#include "Signatures.h"

#include <fmt/format.h>

namespace moert {

namespace {

//===----------------------------------------------------------------------===//
// Routing: moe.topk_grad, moe.sinkhorn_grad, moe.expert_choice_grad
//===----------------------------------------------------------------------===//

/// grad_weights and indices of [T, k] that chose among logits of [T, E].
Status checkTokenChoiceGrad(const Plan &plan, const OpInfo &op) {
  OpChecker c(plan, op);
  MOERT_RETURN_IF_ERROR(c.arity(3, 0, 1));
  MOERT_RETURN_IF_ERROR(c.type(c.in(0), "grad_weights", DType::F32, 2));
  MOERT_RETURN_IF_ERROR(c.type(c.in(1), "logits", DType::F32, 2));
  MOERT_RETURN_IF_ERROR(
      c.shape(c.in(0), "grad_weights", {rows(c.in(1)), cols(c.in(0))}));
  if (cols(c.in(0)) < 1 || cols(c.in(0)) > cols(c.in(1)))
    return c.fail("k must be between 1 and the number of experts");
  MOERT_RETURN_IF_ERROR(c.type(c.in(2), "indices", DType::I32, 2));
  MOERT_RETURN_IF_ERROR(c.shape(c.in(2), "indices", c.in(0).shape));
  return c.shape(c.out(0), "grad_logits", c.in(1).shape);
}

Status checkTopKGrad(const Plan &plan, const OpInfo &op) {
  MOERT_RETURN_IF_ERROR(checkTokenChoiceGrad(plan, op));
  return OpChecker(plan, op).intAttr("softmax", 0);
}

Status checkExpertChoiceGrad(const Plan &plan, const OpInfo &op) {
  OpChecker c(plan, op);
  MOERT_RETURN_IF_ERROR(c.arity(3, 0, 1));
  MOERT_RETURN_IF_ERROR(c.type(c.in(1), "logits", DType::F32, 2));
  MOERT_RETURN_IF_ERROR(c.shape(c.in(0), "grad_weights", c.in(1).shape));
  MOERT_RETURN_IF_ERROR(c.type(c.in(2), "keep", DType::I1, 2));
  MOERT_RETURN_IF_ERROR(c.shape(c.in(2), "keep", c.in(1).shape));
  return c.shape(c.out(0), "grad_logits", c.in(1).shape);
}

//===----------------------------------------------------------------------===//
// Losses: moe.aux_loss_grad, moe.z_loss_grad
//===----------------------------------------------------------------------===//

Status checkAuxLossGrad(const Plan &plan, const OpInfo &op) {
  OpChecker c(plan, op);
  MOERT_RETURN_IF_ERROR(c.arity(3, 0, 1));
  MOERT_RETURN_IF_ERROR(c.type(c.in(0), "grad_loss", DType::F32, 0));
  MOERT_RETURN_IF_ERROR(c.type(c.in(1), "logits", DType::F32, 2));
  MOERT_RETURN_IF_ERROR(c.type(c.in(2), "indices", DType::I32, 2));
  if (rows(c.in(2)) != rows(c.in(1)))
    return c.fail("indices and logits differ in token count");
  MOERT_RETURN_IF_ERROR(c.floatAttr("coeff"));
  if (op.hasAttr("seq_length")) {
    MOERT_RETURN_IF_ERROR(c.intAttr("seq_length", 1));
    int64_t seq = op.intAttr("seq_length");
    if (seq < 1 || rows(c.in(1)) % seq)
      return c.fail("seq_length does not divide the token count");
  }
  return c.shape(c.out(0), "grad_logits", c.in(1).shape);
}

Status checkZLossGrad(const Plan &plan, const OpInfo &op) {
  OpChecker c(plan, op);
  MOERT_RETURN_IF_ERROR(c.arity(2, 0, 1));
  MOERT_RETURN_IF_ERROR(c.type(c.in(0), "grad_loss", DType::F32, 0));
  MOERT_RETURN_IF_ERROR(c.type(c.in(1), "logits", DType::F32, 2));
  MOERT_RETURN_IF_ERROR(c.floatAttr("coeff"));
  return c.shape(c.out(0), "grad_logits", c.in(1).shape);
}

//===----------------------------------------------------------------------===//
// Dispatch: moe.permute_grad, moe.unpermute_grad
//===----------------------------------------------------------------------===//

Status checkPermuteGrad(const Plan &plan, const OpInfo &op) {
  OpChecker c(plan, op);
  MOERT_RETURN_IF_ERROR(c.arity(2, 0, 1));
  MOERT_RETURN_IF_ERROR(c.type(c.in(0), "grad_rows", DType::F32, 2));
  MOERT_RETURN_IF_ERROR(c.type(c.in(1), "row_map", DType::I32, 2));
  return c.shape(c.out(0), "grad_input", {rows(c.in(1)), cols(c.in(0))});
}

Status checkUnpermuteGrad(const Plan &plan, const OpInfo &op) {
  OpChecker c(plan, op);
  MOERT_RETURN_IF_ERROR(c.arity(4, 0, 2));
  MOERT_RETURN_IF_ERROR(c.type(c.in(0), "grad_output", DType::F32, 2));
  MOERT_RETURN_IF_ERROR(c.type(c.in(1), "rows", DType::F32, 2));
  MOERT_RETURN_IF_ERROR(
      c.shape(c.in(1), "rows", {rows(c.in(1)), cols(c.in(0))}));
  MOERT_RETURN_IF_ERROR(c.type(c.in(2), "row_map", DType::I32, 2));
  MOERT_RETURN_IF_ERROR(
      c.shape(c.in(2), "row_map", {rows(c.in(0)), cols(c.in(2))}));
  MOERT_RETURN_IF_ERROR(c.shape(c.in(3), "weights", c.in(2).shape));
  MOERT_RETURN_IF_ERROR(c.shape(c.out(0), "grad_rows", c.in(1).shape));
  return c.shape(c.out(1), "grad_weights", c.in(2).shape);
}

//===----------------------------------------------------------------------===//
// Grouped GEMMs: moe.grouped_matmul_grad_input, moe.grouped_matmul_grad_weight
//===----------------------------------------------------------------------===//

Status checkGroupedMatmulGradInput(const Plan &plan, const OpInfo &op) {
  OpChecker c(plan, op);
  MOERT_RETURN_IF_ERROR(c.arity(3, 0, 1));
  MOERT_RETURN_IF_ERROR(c.type(c.in(0), "grad_output", DType::F32, 2));
  MOERT_RETURN_IF_ERROR(c.type(c.in(1), "weight", DType::F32, 3));
  MOERT_RETURN_IF_ERROR(c.type(c.in(2), "group_sizes", DType::I32, 1));
  const TensorInfo &weight = c.in(1);
  if (weight.shape[0] != c.in(2).shape[0] || weight.shape[1] != cols(c.in(0)))
    return c.fail(fmt::format(
        "weight {} does not fit output gradients of {} and {} groups",
        weight.typeString(), cols(c.in(0)), c.in(2).shape[0]));
  return c.shape(c.out(0), "grad_rows", {rows(c.in(0)), weight.shape[2]});
}

Status checkGroupedMatmulGradWeight(const Plan &plan, const OpInfo &op) {
  OpChecker c(plan, op);
  MOERT_RETURN_IF_ERROR(c.arity(3, 1, 1));
  MOERT_RETURN_IF_ERROR(c.type(c.in(0), "grad_output", DType::F32, 2));
  MOERT_RETURN_IF_ERROR(c.type(c.in(1), "rows", DType::F32, 2));
  MOERT_RETURN_IF_ERROR(
      c.shape(c.in(1), "rows", {rows(c.in(0)), cols(c.in(1))}));
  MOERT_RETURN_IF_ERROR(c.type(c.in(2), "group_sizes", DType::I32, 1));
  MOERT_RETURN_IF_ERROR(
      c.shape(c.out(0), "grad_weight",
              {c.in(2).shape[0], cols(c.in(0)), cols(c.in(1))}));
  return checkAccumulate(c, 3);
}
} // namespace

std::vector<OpSignature> moeGradSignatures() {
  return {
      {"moe.topk_grad", checkTopKGrad},
      {"moe.sinkhorn_grad", checkTokenChoiceGrad},
      {"moe.expert_choice_grad", checkExpertChoiceGrad},
      {"moe.aux_loss_grad", checkAuxLossGrad},
      {"moe.z_loss_grad", checkZLossGrad},
      {"moe.permute_grad", checkPermuteGrad},
      {"moe.unpermute_grad", checkUnpermuteGrad},
      {"moe.grouped_matmul_grad_input", checkGroupedMatmulGradInput},
      {"moe.grouped_matmul_grad_weight", checkGroupedMatmulGradWeight},
  };
}

} // namespace moert
