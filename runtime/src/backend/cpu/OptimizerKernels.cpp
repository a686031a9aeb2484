//===- OptimizerKernels.cpp - learning rate, clipping and AdamW -----------===//

#include "KernelSupport.h"
#include "KernelTables.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace moert::cpu {

namespace {

//===----------------------------------------------------------------------===//
// nn.lr_schedule
//===----------------------------------------------------------------------===//

Status runLRSchedule(const KernelArgs &a) {
  int64_t step = *a.in<int64_t>(0);
  if (step < 1)
    return Status::error(fmt::format(
        "learning-rate step {} is not a step count (from 1)", step));
  int64_t warmup = a.intAttr("warmup_iters");
  // The checks at load leave one way to a decay too short: the length of
  // the run, which is an input.
  const int64_t *trainIters = a.in<int64_t>(1);
  auto style = a.enumAttr<plan::LRDecayStyle>("style");
  int64_t decay = trainIters                    ? *trainIters
                  : a.op.hasAttr("decay_iters") ? a.intAttr("decay_iters")
                                                : 0;
  if (trainIters && style != plan::LRDecayStyle::Constant && decay <= warmup)
    return Status::error(fmt::format(
        "the learning rate decays over the {} training iterations, which must "
        "exceed the {} warmup iterations",
        decay, warmup));
  double maxLr = a.floatAttr("lr"), minLr = a.floatAttr("min_lr");
  // Megatron evaluates the schedule at the number of steps already taken.
  int64_t taken = step - 1;
  double rate;
  if (warmup > 0 && taken <= warmup) {
    rate = maxLr * static_cast<double>(taken) / static_cast<double>(warmup);
  } else if (style == plan::LRDecayStyle::Constant) {
    rate = maxLr;
  } else if (taken > decay) {
    rate = minLr;
  } else {
    double ratio = static_cast<double>(taken - warmup) /
                   static_cast<double>(decay - warmup);
    double coeff = style == plan::LRDecayStyle::Linear
                       ? 1.0 - ratio
                       : 0.5 * (std::cos(M_PI * ratio) + 1);
    rate = minLr + coeff * (maxLr - minLr);
  }
  *a.out<float>(0) = static_cast<float>(rate);
  return Status();
}

//===----------------------------------------------------------------------===//
// nn.clip_grad_norm
//===----------------------------------------------------------------------===//

/// The sum of the squares of every input's elements, in f64.
double squareSum(const KernelArgs &a) {
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
  return sum;
}

/// Writes the norm and the clipping factor of a summed square norm.
Status clip(const KernelArgs &a, double squareNorm) {
  double scale = a.floatAttr("scale"), maxNorm = a.floatAttr("max_norm");
  double norm = scale * std::sqrt(squareNorm);
  if (!std::isfinite(norm))
    return Status::error(
        fmt::format("the gradient norm is {} (the loss diverged)",
                    std::isnan(norm) ? "NaN" : "Inf"));
  double factor = scale;
  if (maxNorm > 0.0)
    factor *= std::min(1.0, maxNorm / (norm + 1e-6));
  *a.out<float>(0) = static_cast<float>(norm);
  *a.out<float>(1) = static_cast<float>(factor);
  return Status();
}

Status runClipGradNorm(const KernelArgs &a) { return clip(a, squareSum(a)); }

//===----------------------------------------------------------------------===//
// nn.square_norm and nn.clip_factor: the clipping of sharded gradients
//===----------------------------------------------------------------------===//

Status runSquareNorm(const KernelArgs &a) {
  *a.out<float>(0) = static_cast<float>(squareSum(a));
  return Status();
}

Status runClipFactor(const KernelArgs &a) {
  return clip(a, static_cast<double>(*a.in<float>(0)));
}

//===----------------------------------------------------------------------===//
// nn.adamw
//===----------------------------------------------------------------------===//

Status runAdamW(const KernelArgs &a) {
  int64_t n = a.input(0).numElements();
  int64_t step = *a.in<int64_t>(5);
  if (step < 1)
    return Status::error(
        fmt::format("AdamW step {} is not a step count (from 1)", step));
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
      {"nn.lr_schedule", runLRSchedule},
      {"nn.clip_grad_norm", runClipGradNorm},
      {"nn.square_norm", runSquareNorm},
      {"nn.clip_factor", runClipFactor},
      {"nn.adamw", runAdamW},
  };
}

} // namespace moert::cpu
