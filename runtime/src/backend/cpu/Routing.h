//===- Routing.h - token-choice routing on the CPU --------------*- C++ -*-===//

#ifndef MOERT_CPU_ROUTING_H
#define MOERT_CPU_ROUTING_H

#include "plan_generated.h"

#include <cstdint>

namespace moert::cpu {

/// Top-k routing of `numTokens` tokens over `numExperts` experts, the kernel of
/// moe.topk. `logits` is [T, E] row-major fp32; `weights` and `indices` are
/// [T, k]. Choices come in descending logit order and equal logits go to the
/// lower expert index. `Post` normalises the softmax over the k chosen logits,
/// `Pre` returns the softmax over all E at the chosen experts.
void topkRoute(const float *logits, int64_t numTokens, int64_t numExperts,
               int64_t k, plan::SoftmaxPlacement softmax, float *weights,
               int32_t *indices);

} // namespace moert::cpu

#endif // MOERT_CPU_ROUTING_H
