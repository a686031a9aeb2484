//===- MoeGradKernels.cpp - CPU kernels of the moe gradient ops -----------===//
//
// The vector-Jacobian products of the routing, loss and dispatch kernels. The
// routing choices (indices, keep masks, row maps, group sizes) are constants:
// only the weights and logits they select carry gradient.
//
//===----------------------------------------------------------------------===//

#include "KernelSupport.h"
#include "KernelTables.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace moert::cpu {

namespace {

//===----------------------------------------------------------------------===//
// Routing: moe.topk_grad, moe.sinkhorn_grad, moe.expert_choice_grad
//===----------------------------------------------------------------------===//

/// One token's grad_logits (of `experts`) for weights w_j = p[indices[j]], p
/// the softmax over all experts: dl_e = sum_j g_j p_{i_j} (delta_{e,i_j} -
/// p_e).
void softmaxAtChoicesGrad(const float *logits, const float *g,
                          const int32_t *indices, int64_t k, int64_t experts,
                          float *grad) {
  std::vector<double> probs;
  softmaxRow(logits, experts, probs);
  double weighted = 0.0;
  for (int64_t j = 0; j < k; ++j)
    weighted += g[j] * probs[indices[j]];
  for (int64_t e = 0; e < experts; ++e)
    grad[e] = static_cast<float>(-probs[e] * weighted);
  for (int64_t j = 0; j < k; ++j)
    grad[indices[j]] += static_cast<float>(g[j] * probs[indices[j]]);
}

/// One token's grad_logits for weights q_j = softmax over the k chosen
/// logits: dl_{i_j} = q_j (g_j - sum_m g_m q_m), zero for the others.
void softmaxOverChoicesGrad(const float *logits, const float *g,
                            const int32_t *indices, int64_t k, int64_t experts,
                            float *grad) {
  std::vector<float> chosen(k);
  for (int64_t j = 0; j < k; ++j)
    chosen[j] = logits[indices[j]];
  std::vector<double> q;
  softmaxRow(chosen.data(), k, q);
  double weighted = 0.0;
  for (int64_t j = 0; j < k; ++j)
    weighted += g[j] * q[j];
  std::fill(grad, grad + experts, 0.0f);
  for (int64_t j = 0; j < k; ++j)
    grad[indices[j]] += static_cast<float>(q[j] * (g[j] - weighted));
}

Status runTopKGrad(const KernelArgs &a) {
  int64_t tokens = rows(a.input(1)), experts = cols(a.input(1)),
          k = cols(a.input(0));
  const float *g = a.in<float>(0), *logits = a.in<float>(1);
  const int32_t *indices = a.in<int32_t>(2);
  float *grad = a.out<float>(0);
  MOERT_RETURN_IF_ERROR(checkExpertIndices(indices, tokens * k, experts));
  auto rowGrad = a.enumAttr<plan::SoftmaxPlacement>("softmax") ==
                         plan::SoftmaxPlacement::Pre
                     ? softmaxAtChoicesGrad
                     : softmaxOverChoicesGrad;
#pragma omp parallel for
  for (int64_t t = 0; t < tokens; ++t)
    rowGrad(logits + t * experts, g + t * k, indices + t * k, k, experts,
            grad + t * experts);
  return Status();
}

/// Top-1 weighs by the sigmoid of the chosen logit, top-k (k > 1) by the
/// softmax over all experts at the chosen ones, as moe.sinkhorn.
Status runSinkhornGrad(const KernelArgs &a) {
  int64_t tokens = rows(a.input(1)), experts = cols(a.input(1)),
          k = cols(a.input(0));
  const float *g = a.in<float>(0), *logits = a.in<float>(1);
  const int32_t *indices = a.in<int32_t>(2);
  float *grad = a.out<float>(0);
  MOERT_RETURN_IF_ERROR(checkExpertIndices(indices, tokens * k, experts));
#pragma omp parallel for
  for (int64_t t = 0; t < tokens; ++t) {
    const float *row = logits + t * experts;
    float *out = grad + t * experts;
    if (k > 1) {
      softmaxAtChoicesGrad(row, g + t * k, indices + t * k, k, experts, out);
      continue;
    }
    double s = 1.0 / (1.0 + std::exp(-static_cast<double>(row[indices[t]])));
    std::fill(out, out + experts, 0.0f);
    out[indices[t]] = static_cast<float>(g[t] * s * (1.0 - s));
  }
  return Status();
}

/// Weights are p_e = softmax(logits)[e] where kept, else 0:
/// dl_f = p_f (keep_f g_f - sum_e keep_e g_e p_e).
Status runExpertChoiceGrad(const KernelArgs &a) {
  int64_t tokens = rows(a.input(1)), experts = cols(a.input(1));
  const float *g = a.in<float>(0), *logits = a.in<float>(1);
  const uint8_t *keep = a.in<uint8_t>(2);
  float *grad = a.out<float>(0);
#pragma omp parallel for
  for (int64_t t = 0; t < tokens; ++t) {
    std::vector<double> probs;
    softmaxRow(logits + t * experts, experts, probs);
    const float *gRow = g + t * experts;
    const uint8_t *kept = keep + t * experts;
    double weighted = 0.0;
    for (int64_t e = 0; e < experts; ++e)
      weighted += kept[e] ? gRow[e] * probs[e] : 0.0;
    for (int64_t e = 0; e < experts; ++e)
      grad[t * experts + e] =
          static_cast<float>(probs[e] * ((kept[e] ? gRow[e] : 0.0) - weighted));
  }
  return Status();
}

//===----------------------------------------------------------------------===//
// Losses: moe.aux_loss_grad, moe.z_loss_grad
//===----------------------------------------------------------------------===//

/// The gradient of scale * sum_e P_e c_e over the tokens t = first,
/// first + stride, ... (count of them), with P_e their summed probabilities
/// and c_e their (constant) routing counts:
/// dl[t, f] = scale * p_f (c_f - sum_e c_e p_e).
void auxLossGradOver(const float *logits, const int32_t *indices,
                     int64_t experts, int64_t k, int64_t first, int64_t stride,
                     int64_t count, double scale, float *grad) {
  std::vector<double> routed(experts, 0.0), probs;
  for (int64_t i = 0; i < count; ++i)
    for (int64_t j = 0; j < k; ++j)
      routed[indices[(first + i * stride) * k + j]] += 1.0;
  for (int64_t i = 0; i < count; ++i) {
    int64_t t = first + i * stride;
    softmaxRow(logits + t * experts, experts, probs);
    double expected = 0.0;
    for (int64_t e = 0; e < experts; ++e)
      expected += routed[e] * probs[e];
    for (int64_t e = 0; e < experts; ++e)
      grad[t * experts + e] =
          static_cast<float>(scale * probs[e] * (routed[e] - expected));
  }
}

Status runAuxLossGrad(const KernelArgs &a) {
  int64_t tokens = rows(a.input(1)), experts = cols(a.input(1)),
          k = cols(a.input(2));
  const float *logits = a.in<float>(1);
  const int32_t *indices = a.in<int32_t>(2);
  MOERT_RETURN_IF_ERROR(checkExpertIndices(indices, tokens * k, experts));
  // Sequence b holds the tokens t with t mod B == b; without a seq_length the
  // batch is one sequence.
  int64_t length =
      a.op.hasAttr("seq_length") ? a.intAttr("seq_length") : tokens;
  int64_t batch = tokens / length;
  // loss = coeff / B * sum_b E / (k S^2) * sum_e P_e c_e.
  double scale = *a.in<float>(0) * a.floatAttr("coeff") * experts /
                 (static_cast<double>(k) * length * length * batch);
  for (int64_t b = 0; b < batch; ++b)
    auxLossGradOver(logits, indices, experts, k, b, batch, length, scale,
                    a.out<float>(0));
  return Status();
}

/// loss = coeff / T * sum_t lse_t^2, so dl[t] = coeff / T * 2 lse_t softmax.
Status runZLossGrad(const KernelArgs &a) {
  int64_t tokens = rows(a.input(1)), experts = cols(a.input(1));
  const float *logits = a.in<float>(1);
  float *grad = a.out<float>(0);
  double scale = *a.in<float>(0) * a.floatAttr("coeff") * 2.0 / tokens;
#pragma omp parallel for
  for (int64_t t = 0; t < tokens; ++t) {
    const float *row = logits + t * experts;
    std::vector<double> probs;
    softmaxRow(row, experts, probs);
    double lse = logSumExp(row, experts);
    for (int64_t e = 0; e < experts; ++e)
      grad[t * experts + e] = static_cast<float>(scale * lse * probs[e]);
  }
  return Status();
}

//===----------------------------------------------------------------------===//
// Dispatch: moe.permute_grad, moe.unpermute_grad
//===----------------------------------------------------------------------===//

/// Each token's gradient is the sum of the gradients of the rows it was
/// copied to.
Status runPermuteGrad(const KernelArgs &a) {
  int64_t numRows = rows(a.input(0)), width = cols(a.input(0));
  int64_t tokens = rows(a.input(1)), k = cols(a.input(1));
  const float *dRows = a.in<float>(0);
  const int32_t *rowMap = a.in<int32_t>(1);
  float *dx = a.out<float>(0);
  MOERT_RETURN_IF_ERROR(checkRowMap(rowMap, tokens * k, numRows));
#pragma omp parallel for
  for (int64_t t = 0; t < tokens; ++t) {
    float *out = dx + t * width;
    std::fill(out, out + width, 0.0f);
    for (int64_t j = 0; j < k; ++j) {
      int32_t row = rowMap[t * k + j];
      if (row < 0)
        continue;
      for (int64_t h = 0; h < width; ++h)
        out[h] += dRows[row * width + h];
    }
  }
  return Status();
}

/// For out[t] = sum_j w[t, j] rows[rowMap[t, j]]: grad_rows[rowMap[t, j]] +=
/// w[t, j] dy[t] and grad_weights[t, j] = dy[t] . rows[rowMap[t, j]].
Status runUnpermuteGrad(const KernelArgs &a) {
  int64_t tokens = rows(a.input(0)), width = cols(a.input(0));
  int64_t numRows = rows(a.input(1)), k = cols(a.input(2));
  const float *dy = a.in<float>(0), *rowsData = a.in<float>(1),
              *weights = a.in<float>(3);
  const int32_t *rowMap = a.in<int32_t>(2);
  float *dRows = a.out<float>(0), *dWeights = a.out<float>(1);
  MOERT_RETURN_IF_ERROR(checkRowMap(rowMap, tokens * k, numRows));
#pragma omp parallel for
  for (int64_t p = 0; p < tokens * k; ++p) {
    int32_t row = rowMap[p];
    float dot = 0.0f;
    if (row >= 0) // a dropped pair weighs nothing
      for (int64_t h = 0; h < width; ++h)
        dot += dy[(p / k) * width + h] * rowsData[row * width + h];
    dWeights[p] = dot;
  }
  // Serial: nothing but the layout keeps two pairs off the same row.
  std::fill(dRows, dRows + numRows * width, 0.0f);
  for (int64_t p = 0; p < tokens * k; ++p) {
    if (rowMap[p] < 0)
      continue;
    for (int64_t h = 0; h < width; ++h)
      dRows[rowMap[p] * width + h] += weights[p] * dy[(p / k) * width + h];
  }
  return Status();
}

//===----------------------------------------------------------------------===//
// Grouped GEMMs: moe.grouped_matmul_grad_input, moe.grouped_matmul_grad_weight
//===----------------------------------------------------------------------===//

/// Each group's rows get dy_e W_e; rows past the groups are zero.
Status runGroupedMatmulGradInput(const KernelArgs &a) {
  int64_t numRows = rows(a.input(0)), outWidth = cols(a.input(0));
  int64_t experts = a.input(2).shape[0], inWidth = a.input(1).shape[2];
  const float *dy = a.in<float>(0), *weight = a.in<float>(1);
  const int32_t *sizes = a.in<int32_t>(2);
  float *dx = a.out<float>(0);
  StatusOr<std::vector<int64_t>> starts = groupStarts(sizes, experts, numRows);
  if (!starts.ok())
    return starts.status();
  for (int64_t e = 0; e < experts; ++e)
    matmul(dy + (*starts)[e] * outWidth, weight + e * outWidth * inWidth,
           dx + (*starts)[e] * inWidth, sizes[e], inWidth, outWidth, outWidth,
           inWidth, inWidth);
  std::fill(dx + (*starts)[experts] * inWidth, dx + numRows * inWidth, 0.0f);
  return Status();
}

/// W_e's gradient is dy_e^T x_e over its group's rows.
Status runGroupedMatmulGradWeight(const KernelArgs &a) {
  int64_t numRows = rows(a.input(0)), outWidth = cols(a.input(0));
  int64_t inWidth = cols(a.input(1)), experts = a.input(2).shape[0];
  const float *dy = a.in<float>(0), *x = a.in<float>(1);
  const int32_t *sizes = a.in<int32_t>(2);
  StatusOr<std::vector<int64_t>> starts = groupStarts(sizes, experts, numRows);
  if (!starts.ok())
    return starts.status();
  // An empty group is a product over zero rows: BLAS leaves beta * C.
  float beta = startFromAccumulator(a, 3);
  for (int64_t e = 0; e < experts; ++e)
    matmulTransA(dy + (*starts)[e] * outWidth, x + (*starts)[e] * inWidth,
                 a.out<float>(0) + e * outWidth * inWidth, outWidth, inWidth,
                 sizes[e], outWidth, inWidth, inWidth, beta);
  return Status();
}

} // namespace

std::vector<Kernel> moeGradKernels() {
  return {
      {"moe.topk_grad", runTopKGrad},
      {"moe.sinkhorn_grad", runSinkhornGrad},
      {"moe.expert_choice_grad", runExpertChoiceGrad},
      {"moe.aux_loss_grad", runAuxLossGrad},
      {"moe.z_loss_grad", runZLossGrad},
      {"moe.permute_grad", runPermuteGrad},
      {"moe.unpermute_grad", runUnpermuteGrad},
      {"moe.grouped_matmul_grad_input", runGroupedMatmulGradInput},
      {"moe.grouped_matmul_grad_weight", runGroupedMatmulGradWeight},
  };
}

} // namespace moert::cpu
