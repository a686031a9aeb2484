//===- DenseGradSignatures.cpp - the nn gradient ops ----------------------===//

#include "OpChecker.h"
#include "Signatures.h"

namespace moert {

namespace {

//===----------------------------------------------------------------------===//
// nn.embedding_grad
//===----------------------------------------------------------------------===//

Status checkEmbeddingGrad(const Plan &plan, const OpInfo &op) {
  OpChecker c(plan, op);
  MOERT_RETURN_IF_ERROR(c.arity(2, 1, 1));
  MOERT_RETURN_IF_ERROR(c.type(c.in(0), "ids", DType::I32, 1));
  MOERT_RETURN_IF_ERROR(c.type(c.in(1), "grad_output", DType::F32, 2));
  MOERT_RETURN_IF_ERROR(
      c.shape(c.in(1), "grad_output", {c.in(0).shape[0], cols(c.in(1))}));
  MOERT_RETURN_IF_ERROR(c.type(c.out(0), "grad_table", DType::F32, 2));
  MOERT_RETURN_IF_ERROR(
      c.shape(c.out(0), "grad_table", {rows(c.out(0)), cols(c.in(1))}));
  return checkAccumulate(c, 2);
}

//===----------------------------------------------------------------------===//
// nn.linear_grad_input, nn.linear_grad_weight, nn.bias_grad
//===----------------------------------------------------------------------===//

Status checkLinearGradInput(const Plan &plan, const OpInfo &op) {
  OpChecker c(plan, op);
  MOERT_RETURN_IF_ERROR(c.arity(2, 0, 1));
  MOERT_RETURN_IF_ERROR(c.type(c.in(0), "grad_output", DType::F32, 2));
  MOERT_RETURN_IF_ERROR(c.type(c.in(1), "weight", DType::F32, 2));
  MOERT_RETURN_IF_ERROR(
      c.shape(c.in(1), "weight", {cols(c.in(0)), cols(c.in(1))}));
  return c.shape(c.out(0), "grad_input", {rows(c.in(0)), cols(c.in(1))});
}

Status checkLinearGradWeight(const Plan &plan, const OpInfo &op) {
  OpChecker c(plan, op);
  MOERT_RETURN_IF_ERROR(c.arity(2, 1, 1));
  MOERT_RETURN_IF_ERROR(c.type(c.in(0), "grad_output", DType::F32, 2));
  MOERT_RETURN_IF_ERROR(c.type(c.in(1), "input", DType::F32, 2));
  MOERT_RETURN_IF_ERROR(
      c.shape(c.in(1), "input", {rows(c.in(0)), cols(c.in(1))}));
  MOERT_RETURN_IF_ERROR(
      c.shape(c.out(0), "grad_weight", {cols(c.in(0)), cols(c.in(1))}));
  return checkAccumulate(c, 2);
}

Status checkBiasGrad(const Plan &plan, const OpInfo &op) {
  OpChecker c(plan, op);
  MOERT_RETURN_IF_ERROR(c.arity(1, 0, 1));
  MOERT_RETURN_IF_ERROR(c.type(c.in(0), "grad_output", DType::F32, 2));
  return c.shape(c.out(0), "grad_bias", {cols(c.in(0))});
}

//===----------------------------------------------------------------------===//
// nn.rmsnorm_grad, nn.layernorm_grad
//===----------------------------------------------------------------------===//

/// Outputs grad_input, then `params` gradients of [H] (weight, bias).
Status checkNormGrad(const Plan &plan, const OpInfo &op, size_t params) {
  OpChecker c(plan, op);
  MOERT_RETURN_IF_ERROR(c.arity(3, 0, 1 + params));
  MOERT_RETURN_IF_ERROR(c.type(c.in(0), "grad_output", DType::F32, 2));
  MOERT_RETURN_IF_ERROR(c.shape(c.in(1), "input", c.in(0).shape));
  MOERT_RETURN_IF_ERROR(c.shape(c.in(2), "weight", {cols(c.in(0))}));
  MOERT_RETURN_IF_ERROR(c.floatAttr("eps"));
  MOERT_RETURN_IF_ERROR(c.shape(c.out(0), "grad_input", c.in(0).shape));
  for (size_t i = 1; i <= params; ++i)
    MOERT_RETURN_IF_ERROR(
        c.shape(c.out(i), "parameter gradient", {cols(c.in(0))}));
  return Status();
}

Status checkRMSNormGrad(const Plan &plan, const OpInfo &op) {
  return checkNormGrad(plan, op, 1);
}
Status checkLayerNormGrad(const Plan &plan, const OpInfo &op) {
  return checkNormGrad(plan, op, 2);
}

//===----------------------------------------------------------------------===//
// nn.rope_grad
//===----------------------------------------------------------------------===//

Status checkRoPEGrad(const Plan &plan, const OpInfo &op) {
  // One operand of the output's shape and the attributes of nn.rope.
  return findOpSignature("nn.rope")->check(plan, op);
}

//===----------------------------------------------------------------------===//
// nn.attention_grad
//===----------------------------------------------------------------------===//

Status checkAttentionGrad(const Plan &plan, const OpInfo &op) {
  OpChecker c(plan, op);
  MOERT_RETURN_IF_ERROR(c.arity(4, 0, 3));
  MOERT_RETURN_IF_ERROR(c.type(c.in(1), "query", DType::F32, 2));
  MOERT_RETURN_IF_ERROR(c.shape(c.in(0), "grad_output", c.in(1).shape));
  MOERT_RETURN_IF_ERROR(c.type(c.in(2), "key", DType::F32, 2));
  MOERT_RETURN_IF_ERROR(c.shape(c.in(3), "value", c.in(2).shape));
  MOERT_RETURN_IF_ERROR(c.intAttr("num_heads", 1));
  MOERT_RETURN_IF_ERROR(c.intAttr("num_kv_heads", 1));
  MOERT_RETURN_IF_ERROR(c.intAttr("seq_length", 1));
  int64_t heads = op.intAttr("num_heads"), kvHeads = op.intAttr("num_kv_heads"),
          seq = op.intAttr("seq_length");
  const TensorInfo &q = c.in(1);
  if (cols(q) % heads || heads % kvHeads || rows(q) % seq)
    return c.fail("heads and seq_length do not divide " + q.typeString());
  MOERT_RETURN_IF_ERROR(
      c.shape(c.in(2), "key", {rows(q), kvHeads * (cols(q) / heads)}));
  for (size_t i = 0; i < 3; ++i)
    MOERT_RETURN_IF_ERROR(
        c.shape(c.out(i), "gradient of the operand", c.in(1 + i).shape));
  return Status();
}

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

/// `inputs` f32 operands and `outputs` results, all of one shape.
Status checkSameShape(const Plan &plan, const OpInfo &op, size_t inputs,
                      size_t outputs) {
  OpChecker c(plan, op);
  MOERT_RETURN_IF_ERROR(c.arity(inputs, 0, outputs));
  if (c.in(0).dtype != DType::F32)
    return c.fail("expects f32 operands");
  for (size_t i = 1; i < inputs; ++i)
    MOERT_RETURN_IF_ERROR(c.shape(c.in(i), "operand", c.in(0).shape));
  for (size_t i = 0; i < outputs; ++i)
    MOERT_RETURN_IF_ERROR(c.shape(c.out(i), "gradient", c.in(0).shape));
  return Status();
}

Status checkSwiGLUGrad(const Plan &plan, const OpInfo &op) {
  return checkSameShape(plan, op, 3, 2);
}

Status checkGeLUGrad(const Plan &plan, const OpInfo &op) {
  MOERT_RETURN_IF_ERROR(checkSameShape(plan, op, 2, 1));
  return OpChecker(plan, op).intAttr("approximate", 0);
}

Status checkSigmoidGateGrad(const Plan &plan, const OpInfo &op) {
  OpChecker c(plan, op);
  MOERT_RETURN_IF_ERROR(c.arity(3, 0, 2));
  MOERT_RETURN_IF_ERROR(c.type(c.in(0), "grad_output", DType::F32, 2));
  MOERT_RETURN_IF_ERROR(c.shape(c.in(1), "input", c.in(0).shape));
  MOERT_RETURN_IF_ERROR(c.shape(c.in(2), "gate", {rows(c.in(0)), 1}));
  MOERT_RETURN_IF_ERROR(c.shape(c.out(0), "grad_input", c.in(0).shape));
  return c.shape(c.out(1), "grad_gate", {rows(c.in(0)), 1});
}

//===----------------------------------------------------------------------===//
// nn.cross_entropy_grad
//===----------------------------------------------------------------------===//

Status checkCrossEntropyGrad(const Plan &plan, const OpInfo &op) {
  OpChecker c(plan, op);
  MOERT_RETURN_IF_ERROR(c.arity(3, 1, 1));
  MOERT_RETURN_IF_ERROR(c.type(c.in(0), "grad_loss", DType::F32, 0));
  MOERT_RETURN_IF_ERROR(c.type(c.in(1), "logits", DType::F32, 2));
  MOERT_RETURN_IF_ERROR(c.type(c.in(2), "labels", DType::I32, 1));
  MOERT_RETURN_IF_ERROR(c.shape(c.in(2), "labels", {rows(c.in(1))}));
  if (c.hasInput(3))
    MOERT_RETURN_IF_ERROR(c.shape(c.in(3), "loss_mask", {rows(c.in(1))}));
  return c.shape(c.out(0), "grad_logits", c.in(1).shape);
}
} // namespace

std::vector<OpSignature> denseGradSignatures() {
  return {
      {"nn.embedding_grad", checkEmbeddingGrad},
      {"nn.linear_grad_input", checkLinearGradInput},
      {"nn.linear_grad_weight", checkLinearGradWeight},
      {"nn.bias_grad", checkBiasGrad},
      {"nn.rmsnorm_grad", checkRMSNormGrad},
      {"nn.layernorm_grad", checkLayerNormGrad},
      {"nn.rope_grad", checkRoPEGrad},
      {"nn.attention_grad", checkAttentionGrad},
      {"nn.swiglu_grad", checkSwiGLUGrad},
      {"nn.gelu_grad", checkGeLUGrad},
      {"nn.sigmoid_gate_grad", checkSigmoidGateGrad},
      {"nn.cross_entropy_grad", checkCrossEntropyGrad},
  };
}

} // namespace moert
