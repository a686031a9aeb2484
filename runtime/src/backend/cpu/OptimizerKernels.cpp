//===- OptimizerKernels.cpp - learning rate, clipping and AdamW -----------===//

#include "DenseKernels.h"
#include "KernelSupport.h"

#include <algorithm>
#include <cmath>

namespace moert::cpu {

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
  MOERT_RETURN_IF_ERROR(c.intAttr("style", 0));
  int64_t style = op.intAttrs.at("style");
  if (style > 2)
    return c.fail("unknown decay style " + std::to_string(style));
  bool attr = op.intAttrs.count("decay_iters");
  if (attr && c.hasInput(1))
    return c.fail("has both decay_iters and a train_iters input");
  if (style == 0 || c.hasInput(1))
    return Status();
  if (!attr)
    return c.fail("decays but has neither decay_iters nor train_iters");
  if (op.intAttrs.at("decay_iters") <= op.intAttrs.at("warmup_iters"))
    return c.fail("decay_iters must exceed warmup_iters");
  return Status();
}

Status runLRSchedule(const KernelArgs &a) {
  int64_t step = *a.in<int64_t>(0);
  if (step < 1)
    return Status::error("learning-rate step " + std::to_string(step) +
                         " is not a step count (from 1)");
  int64_t warmup = a.intAttr("warmup_iters");
  // The checks at load leave one way to a decay too short: the length of
  // the run, which is an input.
  const int64_t *trainIters = a.in<int64_t>(1);
  int64_t decay = trainIters ? *trainIters
                  : a.op.intAttrs.count("decay_iters")
                      ? a.intAttr("decay_iters")
                      : 0;
  if (trainIters && a.intAttr("style") != 0 && decay <= warmup)
    return Status::error("the learning rate decays over the " +
                         std::to_string(decay) +
                         " training iterations, which must exceed the " +
                         std::to_string(warmup) + " warmup iterations");
  double maxLr = a.floatAttr("lr"), minLr = a.floatAttr("min_lr");
  // Megatron evaluates the schedule at the number of steps already taken.
  int64_t taken = step - 1;
  double rate;
  if (warmup > 0 && taken <= warmup) {
    rate = maxLr * static_cast<double>(taken) / static_cast<double>(warmup);
  } else if (a.intAttr("style") == 0) { // LRDecayStyle: constant = 0
    rate = maxLr;
  } else if (taken > decay) {
    rate = minLr;
  } else {
    double ratio = static_cast<double>(taken - warmup) /
                   static_cast<double>(decay - warmup);
    double coeff = a.intAttr("style") == 1 ? 1.0 - ratio // linear
                                           : 0.5 * (std::cos(M_PI * ratio) + 1);
    rate = minLr + coeff * (maxLr - minLr);
  }
  *a.out<float>(0) = static_cast<float>(rate);
  return Status();
}

//===----------------------------------------------------------------------===//
// nn.clip_grad_norm
//===----------------------------------------------------------------------===//

Status checkClipGradNorm(const Plan &plan, const OpInfo &op) {
  OpChecker c(plan, op);
  if (op.inputs.empty())
    return c.fail("needs at least one gradient");
  MOERT_RETURN_IF_ERROR(c.arity(op.inputs.size(), 0, 2));
  for (size_t i = 0; i < op.inputs.size(); ++i)
    if (c.in(i).dtype != DType::F32)
      return c.fail("gradient " + std::to_string(i) + " is not f32");
  MOERT_RETURN_IF_ERROR(c.type(c.out(0), "norm", DType::F32, 0));
  MOERT_RETURN_IF_ERROR(c.type(c.out(1), "factor", DType::F32, 0));
  MOERT_RETURN_IF_ERROR(c.floatAttr("max_norm"));
  return c.floatAttr("scale");
}

Status runClipGradNorm(const KernelArgs &a) {
  double sum = 0.0;
  for (size_t i = 0; i < a.inputs.size(); ++i) {
    const float *g = a.in<float>(i);
    int64_t n = a.input(i).numElements();
    double part = 0.0;
#pragma omp parallel for reduction(+ : part)
    for (int64_t j = 0; j < n; ++j)
      part += static_cast<double>(g[j]) * g[j];
    sum += part;
  }
  double scale = a.floatAttr("scale"), maxNorm = a.floatAttr("max_norm");
  double norm = scale * std::sqrt(sum);
  if (!std::isfinite(norm))
    return Status::error("the gradient norm is " + std::to_string(norm) +
                         " (the loss diverged)");
  double factor = scale;
  if (maxNorm > 0.0)
    factor *= std::min(1.0, maxNorm / (norm + 1e-6));
  *a.out<float>(0) = static_cast<float>(norm);
  *a.out<float>(1) = static_cast<float>(factor);
  return Status();
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

Status runAdamW(const KernelArgs &a) {
  int64_t n = a.input(0).numElements();
  int64_t step = *a.in<int64_t>(5);
  if (step < 1)
    return Status::error("AdamW step " + std::to_string(step) +
                         " is not a step count (from 1)");
  double beta1 = a.floatAttr("beta1"), beta2 = a.floatAttr("beta2");
  double eps = a.floatAttr("eps"), decay = a.floatAttr("weight_decay");
  double lr = *a.in<float>(4);
  double scale = a.in<float>(6) ? *a.in<float>(6) : 1.0;
  double correction1 = 1.0 - std::pow(beta1, static_cast<double>(step));
  double correction2 = 1.0 - std::pow(beta2, static_cast<double>(step));
  const float *p = a.in<float>(0), *g = a.in<float>(1), *m = a.in<float>(2),
              *v = a.in<float>(3);
  // The outputs may be the inputs themselves (an in-place update): each
  // element is read before it is written.
  float *newP = a.out<float>(0), *newM = a.out<float>(1),
        *newV = a.out<float>(2);
#pragma omp parallel for
  for (int64_t i = 0; i < n; ++i) {
    double gi = scale * g[i];
    double mi = beta1 * m[i] + (1 - beta1) * gi;
    double vi = beta2 * v[i] + (1 - beta2) * gi * gi;
    double update = (mi / correction1) / (std::sqrt(vi / correction2) + eps);
    newP[i] = static_cast<float>(p[i] - lr * (update + decay * p[i]));
    newM[i] = static_cast<float>(mi);
    newV[i] = static_cast<float>(vi);
  }
  return Status();
}

} // namespace

std::vector<Kernel> optimizerKernels() {
  return {
      {"nn.lr_schedule", checkLRSchedule, runLRSchedule},
      {"nn.clip_grad_norm", checkClipGradNorm, runClipGradNorm},
      {"nn.adamw", checkAdamW, runAdamW},
  };
}

} // namespace moert::cpu
