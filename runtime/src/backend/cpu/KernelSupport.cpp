//===- KernelSupport.cpp - checks and helpers the kernels share -----------===//

#include "KernelSupport.h"

#include <fmt/format.h>

#include <cblas.h>

#include <algorithm>
#include <cmath>

namespace moert::cpu {

Status checkExpertIndices(const int32_t *indices, int64_t count,
                          int64_t experts) {
  for (int64_t i = 0; i < count; ++i)
    if (indices[i] < 0 || indices[i] >= experts)
      return Status::error(fmt::format(
          "routing index {} is not an expert of {}", indices[i], experts));
  return Status();
}

Status checkRowMap(const int32_t *rowMap, int64_t count, int64_t numRows) {
  for (int64_t p = 0; p < count; ++p)
    if (rowMap[p] < -1 || rowMap[p] >= numRows)
      return Status::error(fmt::format(
          "row map entry {} is outside the {} rows", rowMap[p], numRows));
  return Status();
}

StatusOr<std::vector<int64_t>> groupStarts(const int32_t *sizes,
                                           int64_t experts, int64_t numRows) {
  std::vector<int64_t> starts(experts + 1, 0);
  for (int64_t e = 0; e < experts; ++e) {
    if (sizes[e] < 0)
      return Status::error(fmt::format("group {} has {} rows", e, sizes[e]));
    starts[e + 1] = starts[e] + sizes[e];
  }
  if (starts[experts] > numRows)
    return Status::error(
        fmt::format("the groups hold {} rows, more than the {} of the buffer",
                    starts[experts], numRows));
  return starts;
}

void matmulTransB(const float *a, const float *b, float *c, int64_t m,
                  int64_t n, int64_t k, int64_t lda, int64_t ldb, int64_t ldc,
                  float beta) {
  if (m == 0 || n == 0)
    return;
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0f, a, lda, b,
              ldb, beta, c, ldc);
}

void matmul(const float *a, const float *b, float *c, int64_t m, int64_t n,
            int64_t k, int64_t lda, int64_t ldb, int64_t ldc, float beta) {
  if (m == 0 || n == 0)
    return;
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a, lda,
              b, ldb, beta, c, ldc);
}

void matmulTransA(const float *a, const float *b, float *c, int64_t m,
                  int64_t n, int64_t k, int64_t lda, int64_t ldb, int64_t ldc,
                  float beta) {
  if (m == 0 || n == 0)
    return;
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, m, n, k, 1.0f, a, lda, b,
              ldb, beta, c, ldc);
}

void softmaxRow(const float *logits, int64_t n, std::vector<double> &probs) {
  probs.resize(n);
  double max = *std::max_element(logits, logits + n), sum = 0.0;
  for (int64_t i = 0; i < n; ++i)
    sum += probs[i] = std::exp(logits[i] - max);
  for (double &p : probs)
    p /= sum;
}

double logSumExp(const float *logits, int64_t n) {
  double max = *std::max_element(logits, logits + n), sum = 0.0;
  for (int64_t i = 0; i < n; ++i)
    sum += std::exp(logits[i] - max);
  return max + std::log(sum);
}

float startFromAccumulator(const KernelArgs &a, size_t index) {
  const float *accumulator = a.in<float>(index);
  if (!accumulator)
    return 0.0f;
  float *out = a.out<float>(0);
  if (accumulator != out)
    std::copy(accumulator, accumulator + a.output(0).numElements(), out);
  return 1.0f;
}

void rotateByPosition(const KernelArgs &a, float direction) {
  int64_t tokens = rows(a.input(0)), width = cols(a.input(0));
  int64_t headDim = a.intAttr("head_dim"), half = headDim / 2;
  int64_t batch = tokens / a.intAttr("seq_length");
  double theta = a.floatAttr("theta");
  const float *x = a.in<float>(0);
  float *y = a.out<float>(0);
  // Inverse frequencies in fp32, as Hugging Face computes them.
  std::vector<float> inverse(half);
  for (int64_t i = 0; i < half; ++i)
    inverse[i] = static_cast<float>(
        1.0 / std::pow(theta, static_cast<double>(2 * i) / headDim));
#pragma omp parallel for
  for (int64_t t = 0; t < tokens; ++t) {
    int64_t sequencePosition = t / batch; // token t = s * batch + b
    auto position = static_cast<float>(sequencePosition);
    for (int64_t h = 0; h < width / headDim; ++h) {
      const float *in = x + t * width + h * headDim;
      float *out = y + t * width + h * headDim;
      for (int64_t i = 0; i < half; ++i) {
        float angle = position * inverse[i];
        float cos = std::cos(angle), sin = direction * std::sin(angle);
        out[i] = in[i] * cos - in[i + half] * sin;
        out[i + half] = in[i + half] * cos + in[i] * sin;
      }
    }
  }
}

void causalAttentionProbabilities(const float *q, const float *k, int64_t seq,
                                  int64_t headDim, int64_t qStride,
                                  int64_t kStride, float *probs) {
  float scale = 1.0f / std::sqrt(static_cast<float>(headDim));
  matmulTransB(q, k, probs, seq, seq, headDim, qStride, kStride, seq);
  for (int64_t i = 0; i < seq; ++i) {
    float *row = probs + i * seq;
    float max = -INFINITY;
    for (int64_t j = 0; j <= i; ++j)
      max = std::max(max, row[j] * scale);
    float sum = 0.0f;
    for (int64_t j = 0; j <= i; ++j) {
      row[j] = std::exp(row[j] * scale - max);
      sum += row[j];
    }
    for (int64_t j = 0; j <= i; ++j)
      row[j] /= sum;
    std::fill(row + i + 1, row + seq, 0.0f);
  }
}

} // namespace moert::cpu
