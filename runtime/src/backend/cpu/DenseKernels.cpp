//===- DenseKernels.cpp - CPU kernels of the nn dialect -------------------===//

#include "KernelSupport.h"
#include "KernelTables.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace moert::cpu {

namespace {

//===----------------------------------------------------------------------===//
// nn.embedding
//===----------------------------------------------------------------------===//

Status runEmbedding(const KernelArgs &a) {
  const int32_t *ids = a.in<int32_t>(0);
  const float *table = a.in<float>(1);
  float *out = a.out<float>(0);
  int64_t tokens = a.input(0).shape[0], vocab = rows(a.input(1)),
          width = cols(a.input(1));
  for (int64_t t = 0; t < tokens; ++t) {
    if (ids[t] < 0 || ids[t] >= vocab)
      return Status::error(fmt::format(
          "token id {} at position {} is outside the table of {} rows ({})",
          ids[t], t, vocab, a.input(1).name));
    std::copy_n(table + ids[t] * width, width, out + t * width);
  }
  return Status();
}

//===----------------------------------------------------------------------===//
// nn.linear
//===----------------------------------------------------------------------===//

Status runLinear(const KernelArgs &a) {
  int64_t tokens = rows(a.input(0)), in = cols(a.input(0)),
          out = rows(a.input(1));
  float *y = a.out<float>(0);
  matmulTransB(a.in<float>(0), a.in<float>(1), y, tokens, out, in, in, in, out);
  if (const float *bias = a.in<float>(2)) {
#pragma omp parallel for
    for (int64_t t = 0; t < tokens; ++t)
      for (int64_t o = 0; o < out; ++o)
        y[t * out + o] += bias[o];
  }
  return Status();
}

//===----------------------------------------------------------------------===//
// nn.rmsnorm, nn.layernorm
//===----------------------------------------------------------------------===//

Status runRMSNorm(const KernelArgs &a) {
  int64_t tokens = rows(a.input(0)), width = cols(a.input(0));
  const float *x = a.in<float>(0), *w = a.in<float>(1);
  float *y = a.out<float>(0);
  float eps = static_cast<float>(a.floatAttr("eps"));
#pragma omp parallel for
  for (int64_t t = 0; t < tokens; ++t) {
    const float *row = x + t * width;
    float sum = 0.0f;
    for (int64_t h = 0; h < width; ++h)
      sum += row[h] * row[h];
    float scale = 1.0f / std::sqrt(sum / width + eps);
    for (int64_t h = 0; h < width; ++h)
      y[t * width + h] = row[h] * scale * w[h];
  }
  return Status();
}

Status runLayerNorm(const KernelArgs &a) {
  int64_t tokens = rows(a.input(0)), width = cols(a.input(0));
  const float *x = a.in<float>(0), *w = a.in<float>(1), *b = a.in<float>(2);
  float *y = a.out<float>(0);
  float eps = static_cast<float>(a.floatAttr("eps"));
#pragma omp parallel for
  for (int64_t t = 0; t < tokens; ++t) {
    const float *row = x + t * width;
    float mean = 0.0f;
    for (int64_t h = 0; h < width; ++h)
      mean += row[h];
    mean /= width;
    float var = 0.0f;
    for (int64_t h = 0; h < width; ++h)
      var += (row[h] - mean) * (row[h] - mean);
    float scale = 1.0f / std::sqrt(var / width + eps);
    for (int64_t h = 0; h < width; ++h)
      y[t * width + h] = (row[h] - mean) * scale * w[h] + b[h];
  }
  return Status();
}

//===----------------------------------------------------------------------===//
// nn.rope
//===----------------------------------------------------------------------===//

Status runRoPE(const KernelArgs &a) {
  rotateByPosition(a, 1.0f);
  return Status();
}

//===----------------------------------------------------------------------===//
// nn.attention
//===----------------------------------------------------------------------===//

Status runAttention(const KernelArgs &a) {
  const TensorInfo &qInfo = a.input(0);
  int64_t tokens = rows(qInfo), qWidth = cols(qInfo);
  int64_t heads = a.intAttr("num_heads"), kvHeads = a.intAttr("num_kv_heads");
  int64_t seq = a.intAttr("seq_length"), batch = tokens / seq;
  int64_t headDim = qWidth / heads, kvWidth = kvHeads * headDim;
  int64_t group = heads / kvHeads;
  const float *q = a.in<float>(0), *k = a.in<float>(1), *v = a.in<float>(2);
  float *out = a.out<float>(0);

  // Token s of sequence b is row s * batch + b: a sequence's rows of one head
  // form a strided matrix, so each (sequence, head) is two GEMMs.
#pragma omp parallel for collapse(2)
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t h = 0; h < heads; ++h) {
      std::vector<float> scores(seq * seq);
      const float *qh = q + b * qWidth + h * headDim;
      const float *kh = k + b * kvWidth + (h / group) * headDim;
      const float *vh = v + b * kvWidth + (h / group) * headDim;
      causalAttentionProbabilities(qh, kh, seq, headDim, batch * qWidth,
                                   batch * kvWidth, scores.data());
      // out_h = P V: P [seq, seq] times V [seq, headDim] (not transposed).
      float *oh = out + b * qWidth + h * headDim;
      for (int64_t i = 0; i < seq; ++i) {
        float *orow = oh + i * batch * qWidth;
        std::fill(orow, orow + headDim, 0.0f);
        const float *prow = scores.data() + i * seq;
        for (int64_t j = 0; j <= i; ++j) {
          const float *vrow = vh + j * batch * kvWidth;
          for (int64_t d = 0; d < headDim; ++d)
            orow[d] += prow[j] * vrow[d];
        }
      }
    }
  }
  return Status();
}

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

Status runAdd(const KernelArgs &a) {
  int64_t n = a.input(0).numElements();
  const float *x = a.in<float>(0), *y = a.in<float>(1);
  float *out = a.out<float>(0);
#pragma omp parallel for
  for (int64_t i = 0; i < n; ++i)
    out[i] = x[i] + y[i];
  return Status();
}

Status runSwiGLU(const KernelArgs &a) {
  int64_t n = a.input(0).numElements();
  const float *gate = a.in<float>(0), *up = a.in<float>(1);
  float *out = a.out<float>(0);
#pragma omp parallel for
  for (int64_t i = 0; i < n; ++i)
    out[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
  return Status();
}

Status runGeLU(const KernelArgs &a) {
  int64_t n = a.input(0).numElements();
  bool tanhForm = a.enumAttr<plan::GeluApproximation>("approximate") ==
                  plan::GeluApproximation::Tanh;
  const float *x = a.in<float>(0);
  float *out = a.out<float>(0);
  const float root2OverPi = std::sqrt(2.0f / static_cast<float>(M_PI));
#pragma omp parallel for
  for (int64_t i = 0; i < n; ++i) {
    float v = x[i];
    out[i] =
        tanhForm
            ? 0.5f * v *
                  (1.0f + std::tanh(root2OverPi * (v + 0.044715f * v * v * v)))
            : 0.5f * v * (1.0f + std::erf(v / std::sqrt(2.0f)));
  }
  return Status();
}

Status runSigmoidGate(const KernelArgs &a) {
  int64_t tokens = rows(a.input(0)), width = cols(a.input(0));
  const float *x = a.in<float>(0), *g = a.in<float>(1);
  float *out = a.out<float>(0);
#pragma omp parallel for
  for (int64_t t = 0; t < tokens; ++t) {
    float gate = 1.0f / (1.0f + std::exp(-g[t]));
    for (int64_t h = 0; h < width; ++h)
      out[t * width + h] = x[t * width + h] * gate;
  }
  return Status();
}

//===----------------------------------------------------------------------===//
// nn.cross_entropy
//===----------------------------------------------------------------------===//

Status runCrossEntropy(const KernelArgs &a) {
  int64_t tokens = rows(a.input(0)), vocab = cols(a.input(0));
  const float *logits = a.in<float>(0);
  const int32_t *labels = a.in<int32_t>(1);
  const float *mask = a.in<float>(2);
  double total = 0.0, weight = 0.0;
  for (int64_t t = 0; t < tokens; ++t) {
    if (labels[t] < 0 || labels[t] >= vocab)
      return Status::error(
          fmt::format("label {} at position {} is outside the vocabulary of {}",
                      labels[t], t, vocab));
    float m = mask ? mask[t] : 1.0f;
    if (m == 0.0f)
      continue;
    const float *row = logits + t * vocab;
    float max = *std::max_element(row, row + vocab);
    double sum = 0.0;
    for (int64_t v = 0; v < vocab; ++v)
      sum += std::exp(static_cast<double>(row[v] - max));
    total += m * (std::log(sum) + max - row[labels[t]]);
    weight += m;
  }
  *a.out<float>(0) = weight > 0 ? static_cast<float>(total / weight) : 0.0f;
  return Status();
}

} // namespace

std::vector<Kernel> denseKernels() {
  return {
      {"nn.embedding", runEmbedding},
      {"nn.linear", runLinear},
      {"nn.rmsnorm", runRMSNorm},
      {"nn.layernorm", runLayerNorm},
      {"nn.rope", runRoPE},
      {"nn.attention", runAttention},
      {"nn.add", runAdd},
      {"nn.swiglu", runSwiGLU},
      {"nn.gelu", runGeLU},
      {"nn.sigmoid_gate", runSigmoidGate},
      {"nn.cross_entropy", runCrossEntropy},
  };
}

} // namespace moert::cpu
