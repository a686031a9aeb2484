//===- MoeKernels.cpp - CPU kernels of the moe dialect --------------------===//

#include "KernelSupport.h"
#include "KernelTables.h"
#include "Routing.h"
#include "moert/SplitMix.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

namespace moert::cpu {

namespace {

//===----------------------------------------------------------------------===//
// Router, jitter and routing
//===----------------------------------------------------------------------===//

Status runRouter(const KernelArgs &a) {
  int64_t tokens = rows(a.input(0)), hidden = cols(a.input(0)),
          experts = rows(a.input(1));
  matmulTransB(a.in<float>(0), a.in<float>(1), a.out<float>(0), tokens, experts,
               hidden, hidden, hidden, experts);
  return Status();
}

Status runJitter(const KernelArgs &a) {
  int64_t n = a.input(0).numElements();
  uint64_t seed = static_cast<uint64_t>(*a.in<int64_t>(1));
  float eps = static_cast<float>(a.floatAttr("eps"));
  const float *x = a.in<float>(0);
  float *y = a.out<float>(0);
#pragma omp parallel for
  for (int64_t i = 0; i < n; ++i) {
    double u = (splitMix64(seed ^ splitMix64(static_cast<uint64_t>(i))) >> 11) *
               0x1.0p-53;
    y[i] = x[i] * (1.0f - eps + 2.0f * eps * static_cast<float>(u));
  }
  return Status();
}

Status runTopK(const KernelArgs &a) {
  int64_t tokens = rows(a.input(0)), experts = cols(a.input(0));
  topkRoute(a.in<float>(0), tokens, experts, a.intAttr("k"),
            a.enumAttr<plan::SoftmaxPlacement>("softmax"), a.out<float>(0),
            a.out<int32_t>(1));
  return Status();
}

/// The Sinkhorn-balanced scores d1[e] * exp(logit) * d0[t].
std::vector<float> sinkhornScores(const float *logits, int64_t tokens,
                                  int64_t experts, double tol) {
  std::vector<double> cost(tokens * experts);
  for (int64_t i = 0; i < tokens * experts; ++i)
    cost[i] = std::exp(static_cast<double>(logits[i]));
  std::vector<double> d0(tokens, 1.0), d1(experts, 1.0), previous(experts);
  double error = 1e9;
  for (int iteration = 0; error > tol && iteration < 10000; ++iteration) {
    for (int64_t t = 0; t < tokens; ++t) {
      double dot = 0.0;
      for (int64_t e = 0; e < experts; ++e)
        dot += cost[t * experts + e] * d1[e];
      d0[t] = (1.0 / tokens) / (dot + 1e-8);
    }
    previous = d1;
    for (int64_t e = 0; e < experts; ++e) {
      double dot = 0.0;
      for (int64_t t = 0; t < tokens; ++t)
        dot += d0[t] * cost[t * experts + e];
      d1[e] = (1.0 / experts) / (dot + 1e-8);
    }
    error = 0.0;
    for (int64_t e = 0; e < experts; ++e)
      error += std::abs(d1[e] - previous[e]);
    error /= experts;
  }
  std::vector<float> balanced(tokens * experts);
  for (int64_t t = 0; t < tokens; ++t)
    for (int64_t e = 0; e < experts; ++e)
      balanced[t * experts + e] =
          static_cast<float>(d1[e] * cost[t * experts + e] * d0[t]);
  return balanced;
}

Status runSinkhorn(const KernelArgs &a) {
  int64_t tokens = rows(a.input(0)), experts = cols(a.input(0));
  int64_t k = a.intAttr("k");
  const float *logits = a.in<float>(0);
  // Training chooses by the balanced scores, evaluation by the logits; both
  // weigh by the plain router probabilities.
  std::vector<float> balanced;
  if (!a.boolAttr("evaluation"))
    balanced = sinkhornScores(logits, tokens, experts, a.floatAttr("tol"));
  std::vector<float> unused(tokens * k);
  int32_t *indices = a.out<int32_t>(1);
  topkRoute(balanced.empty() ? logits : balanced.data(), tokens, experts, k,
            plan::SoftmaxPlacement::Pre, unused.data(), indices);
  float *weights = a.out<float>(0);
  std::vector<double> probs;
  for (int64_t t = 0; t < tokens; ++t) {
    const float *row = logits + t * experts;
    softmaxRow(row, experts, probs);
    for (int64_t j = 0; j < k; ++j) {
      int32_t e = indices[t * k + j];
      weights[t * k + j] = static_cast<float>(
          k == 1 ? 1.0 / (1.0 + std::exp(-static_cast<double>(row[e])))
                 : probs[e]);
    }
  }
  return Status();
}

Status runExpertChoice(const KernelArgs &a) {
  int64_t tokens = rows(a.input(0)), experts = cols(a.input(0));
  int64_t capacity = a.intAttr("capacity");
  const float *logits = a.in<float>(0);
  float *weights = a.out<float>(0);
  int32_t *indices = a.out<int32_t>(1);
  uint8_t *keep = a.out<uint8_t>(2);
  std::vector<float> probs(tokens * experts);
  std::vector<double> row;
  for (int64_t t = 0; t < tokens; ++t) {
    softmaxRow(logits + t * experts, experts, row);
    for (int64_t e = 0; e < experts; ++e) {
      probs[t * experts + e] = static_cast<float>(row[e]);
      indices[t * experts + e] = static_cast<int32_t>(e);
      keep[t * experts + e] = 0;
      weights[t * experts + e] = 0.0f;
    }
  }
  std::vector<int64_t> order(tokens);
  for (int64_t e = 0; e < experts; ++e) {
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int64_t x, int64_t y) {
      return probs[x * experts + e] > probs[y * experts + e];
    });
    for (int64_t c = 0; c < capacity; ++c) {
      int64_t t = order[c];
      keep[t * experts + e] = 1;
      weights[t * experts + e] = probs[t * experts + e];
    }
  }
  return Status();
}

//===----------------------------------------------------------------------===//
// Losses
//===----------------------------------------------------------------------===//

/// The aux loss over the tokens t = first, first + stride, ... (count of them).
double auxLossOver(const float *logits, const int32_t *indices, int64_t experts,
                   int64_t k, int64_t first, int64_t stride, int64_t count) {
  std::vector<double> probSum(experts, 0.0), routed(experts, 0.0), probs;
  for (int64_t i = 0; i < count; ++i) {
    int64_t t = first + i * stride;
    softmaxRow(logits + t * experts, experts, probs);
    for (int64_t e = 0; e < experts; ++e)
      probSum[e] += probs[e];
    for (int64_t j = 0; j < k; ++j)
      routed[indices[t * k + j]] += 1.0;
  }
  double sum = 0.0;
  for (int64_t e = 0; e < experts; ++e)
    sum += probSum[e] * routed[e];
  return experts / (static_cast<double>(k) * count * count) * sum;
}

Status runAuxLoss(const KernelArgs &a) {
  int64_t tokens = rows(a.input(0)), experts = cols(a.input(0)),
          k = cols(a.input(1));
  const float *logits = a.in<float>(0);
  const int32_t *indices = a.in<int32_t>(1);
  MOERT_RETURN_IF_ERROR(checkExpertIndices(indices, tokens * k, experts));
  double loss = 0.0;
  if (!a.op.hasAttr("seq_length")) {
    loss = auxLossOver(logits, indices, experts, k, 0, 1, tokens);
  } else {
    // Sequence b holds the tokens t with t mod B == b.
    int64_t seq = a.intAttr("seq_length"), batch = tokens / seq;
    for (int64_t b = 0; b < batch; ++b)
      loss += auxLossOver(logits, indices, experts, k, b, batch, seq);
    loss /= batch;
  }
  *a.out<float>(0) = static_cast<float>(a.floatAttr("coeff") * loss);
  return Status();
}

Status runZLoss(const KernelArgs &a) {
  int64_t tokens = rows(a.input(0)), experts = cols(a.input(0));
  double sum = 0.0;
  for (int64_t t = 0; t < tokens; ++t) {
    double lse = logSumExp(a.in<float>(0) + t * experts, experts);
    sum += lse * lse;
  }
  *a.out<float>(0) = static_cast<float>(a.floatAttr("coeff") * sum / tokens);
  return Status();
}

} // namespace

std::vector<Kernel> routingKernels() {
  return {
      {"moe.router", runRouter},
      {"moe.jitter", runJitter},
      {"moe.topk", runTopK},
      {"moe.sinkhorn", runSinkhorn},
      {"moe.expert_choice", runExpertChoice},
      {"moe.aux_loss", runAuxLoss},
      {"moe.z_loss", runZLoss},
  };
}

} // namespace moert::cpu
