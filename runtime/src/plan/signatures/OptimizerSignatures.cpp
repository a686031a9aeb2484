//===- OptimizerSignatures.cpp - learning rate, clipping and AdamW --------===//

#include "OpChecker.h"
#include "Signatures.h"

#include "plan_generated.h"

#include <fmt/format.h>

namespace moert {

namespace {

//===----------------------------------------------------------------------===//
// nn.lr_schedule
//===----------------------------------------------------------------------===//

Status checkLRSchedule(const Plan &plan, const OpInfo &op) {
  OpChecker c(plan, op);
  MOERT_RETURN_IF_ERROR(c.arity(1, 1, 1));
  MOERT_RETURN_IF_ERROR(c.type(c.in(0), "step", DType::I64, 0));
  if (c.hasInput(1))
    MOERT_RETURN_IF_ERROR(c.type(c.in(1), "train_iters", DType::I64, 0));
  MOERT_RETURN_IF_ERROR(c.type(c.out(0), "rate", DType::F32, 0));
  for (const char *key : {"lr", "min_lr"})
    MOERT_RETURN_IF_ERROR(c.floatAttr(key));
  MOERT_RETURN_IF_ERROR(c.intAttr("warmup_iters", 0));
  MOERT_RETURN_IF_ERROR(
      c.intAttr("style", 0, static_cast<int64_t>(plan::LRDecayStyle::MAX)));
  auto style = static_cast<plan::LRDecayStyle>(op.intAttr("style"));
  bool attr = op.hasAttr("decay_iters");
  if (attr && c.hasInput(1))
    return c.fail("has both decay_iters and a train_iters input");
  if (style == plan::LRDecayStyle::Constant || c.hasInput(1))
    return Status();
  if (!attr)
    return c.fail("decays but has neither decay_iters nor train_iters");
  MOERT_RETURN_IF_ERROR(c.intAttr("decay_iters", 0));
  if (op.intAttr("decay_iters") <= op.intAttr("warmup_iters"))
    return c.fail("decay_iters must exceed warmup_iters");
  return Status();
}

//===----------------------------------------------------------------------===//
// nn.clip_grad_norm
//===----------------------------------------------------------------------===//

/// One or more f32 gradients in, `outputs` f32 scalars out.
Status checkGradients(const OpChecker &c, const OpInfo &op, size_t outputs) {
  if (op.inputs.empty())
    return c.fail("needs at least one gradient");
  MOERT_RETURN_IF_ERROR(c.arity(op.inputs.size(), 0, outputs));
  for (size_t i = 0; i < op.inputs.size(); ++i)
    if (c.in(i).dtype != DType::F32)
      return c.fail(fmt::format("gradient {} is not f32", i));
  return Status();
}

/// The norm and factor outputs and the attributes of a clipping op.
Status checkClipping(const OpChecker &c) {
  MOERT_RETURN_IF_ERROR(c.type(c.out(0), "norm", DType::F32, 0));
  MOERT_RETURN_IF_ERROR(c.type(c.out(1), "factor", DType::F32, 0));
  MOERT_RETURN_IF_ERROR(c.floatAttr("max_norm"));
  return c.floatAttr("scale");
}

Status checkClipGradNorm(const Plan &plan, const OpInfo &op) {
  OpChecker c(plan, op);
  MOERT_RETURN_IF_ERROR(checkGradients(c, op, 2));
  return checkClipping(c);
}

Status checkSquareNorm(const Plan &plan, const OpInfo &op) {
  OpChecker c(plan, op);
  MOERT_RETURN_IF_ERROR(checkGradients(c, op, 1));
  return c.type(c.out(0), "square_norm", DType::F32, 0);
}

Status checkClipFactor(const Plan &plan, const OpInfo &op) {
  OpChecker c(plan, op);
  MOERT_RETURN_IF_ERROR(c.arity(1, 0, 2));
  MOERT_RETURN_IF_ERROR(c.type(c.in(0), "square_norm", DType::F32, 0));
  return checkClipping(c);
}

//===----------------------------------------------------------------------===//
// nn.adamw
//===----------------------------------------------------------------------===//

Status checkAdamW(const Plan &plan, const OpInfo &op) {
  OpChecker c(plan, op);
  MOERT_RETURN_IF_ERROR(c.arity(6, 1, 3));
  if (c.in(0).dtype != DType::F32)
    return c.fail("expects an f32 parameter");
  for (size_t i = 1; i < 4; ++i)
    MOERT_RETURN_IF_ERROR(
        c.shape(c.in(i), "gradient and moments", c.in(0).shape));
  for (size_t i = 0; i < 3; ++i)
    MOERT_RETURN_IF_ERROR(c.shape(c.out(i), "updated state", c.in(0).shape));
  MOERT_RETURN_IF_ERROR(c.type(c.in(4), "lr", DType::F32, 0));
  MOERT_RETURN_IF_ERROR(c.type(c.in(5), "step", DType::I64, 0));
  if (c.hasInput(6))
    MOERT_RETURN_IF_ERROR(c.type(c.in(6), "grad_scale", DType::F32, 0));
  for (const char *key : {"beta1", "beta2", "eps", "weight_decay"})
    MOERT_RETURN_IF_ERROR(c.floatAttr(key));
  return Status();
}
} // namespace

std::vector<OpSignature> optimizerSignatures() {
  return {
      {"nn.lr_schedule", checkLRSchedule},
      {"nn.clip_grad_norm", checkClipGradNorm},
      {"nn.square_norm", checkSquareNorm},
      {"nn.clip_factor", checkClipFactor},
      {"nn.adamw", checkAdamW},
  };
}

} // namespace moert
