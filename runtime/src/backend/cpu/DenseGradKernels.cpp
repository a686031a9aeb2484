//===- DenseGradKernels.cpp - CPU kernels of the nn gradient ops ----------===//
//
// The vector-Jacobian products of the nn forward kernels: each takes the
// gradient of the forward output first, then what the forward op saw.
//
//===----------------------------------------------------------------------===//

#include "KernelSupport.h"
#include "KernelTables.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace moert::cpu {

namespace {

//===----------------------------------------------------------------------===//
// nn.embedding_grad
//===----------------------------------------------------------------------===//

Status runEmbeddingGrad(const KernelArgs &a) {
  const int32_t *ids = a.in<int32_t>(0);
  const float *dy = a.in<float>(1);
  float *table = a.out<float>(0);
  int64_t tokens = a.input(0).shape[0], vocab = rows(a.output(0)),
          width = cols(a.output(0));
  // Every id first: an accumulator is not left half updated.
  for (int64_t t = 0; t < tokens; ++t)
    if (ids[t] < 0 || ids[t] >= vocab)
      return Status::error(fmt::format(
          "token id {} at position {} is outside the table of {} rows ({})",
          ids[t], t, vocab, a.output(0).name));
  if (startFromAccumulator(a, 2) == 0.0f)
    std::fill(table, table + vocab * width, 0.0f);
  // Serial: tokens with the same id add into the same row.
  for (int64_t t = 0; t < tokens; ++t) {
    float *row = table + ids[t] * width;
    for (int64_t h = 0; h < width; ++h)
      row[h] += dy[t * width + h];
  }
  return Status();
}

//===----------------------------------------------------------------------===//
// nn.linear_grad_input, nn.linear_grad_weight, nn.bias_grad
//===----------------------------------------------------------------------===//

Status runLinearGradInput(const KernelArgs &a) {
  int64_t tokens = rows(a.input(0)), out = cols(a.input(0)),
          in = cols(a.input(1));
  matmul(a.in<float>(0), a.in<float>(1), a.out<float>(0), tokens, in, out, out,
         in, in);
  return Status();
}

Status runLinearGradWeight(const KernelArgs &a) {
  int64_t tokens = rows(a.input(0)), out = cols(a.input(0)),
          in = cols(a.input(1));
  float beta = startFromAccumulator(a, 2);
  matmulTransA(a.in<float>(0), a.in<float>(1), a.out<float>(0), out, in, tokens,
               out, in, in, beta);
  return Status();
}

/// sum[h] = sum over the rows t of m[t, h].
void columnSums(const float *m, int64_t tokens, int64_t width, float *sum) {
#pragma omp parallel for
  for (int64_t h = 0; h < width; ++h) {
    float s = 0.0f;
    for (int64_t t = 0; t < tokens; ++t)
      s += m[t * width + h];
    sum[h] = s;
  }
}

Status runBiasGrad(const KernelArgs &a) {
  columnSums(a.in<float>(0), rows(a.input(0)), cols(a.input(0)),
             a.out<float>(0));
  return Status();
}

//===----------------------------------------------------------------------===//
// nn.rmsnorm_grad, nn.layernorm_grad
//===----------------------------------------------------------------------===//

/// The gradients of y = n * w + b with n = (x - center) * r, where
/// r = 1 / sqrt(mean((x - center)^2) + eps) and center is the row mean
/// (layernorm) or zero (rmsnorm). With u = dy * w:
/// dx = r (u - [mean(u)] - n mean(u n)), the bracket only when centred.
void normGrad(const KernelArgs &a, bool centred) {
  int64_t tokens = rows(a.input(0)), width = cols(a.input(0));
  const float *dy = a.in<float>(0), *x = a.in<float>(1), *w = a.in<float>(2);
  float *dx = a.out<float>(0), *dw = a.out<float>(1);
  float eps = static_cast<float>(a.floatAttr("eps"));
  std::vector<float> normed(tokens * width);
#pragma omp parallel for
  for (int64_t t = 0; t < tokens; ++t) {
    const float *row = x + t * width, *dyRow = dy + t * width;
    float *n = normed.data() + t * width;
    float center = 0.0f;
    if (centred) {
      for (int64_t h = 0; h < width; ++h)
        center += row[h];
      center /= width;
    }
    float var = 0.0f;
    for (int64_t h = 0; h < width; ++h)
      var += (row[h] - center) * (row[h] - center);
    float r = 1.0f / std::sqrt(var / width + eps);
    float meanU = 0.0f, meanUN = 0.0f;
    for (int64_t h = 0; h < width; ++h) {
      n[h] = (row[h] - center) * r;
      meanU += dyRow[h] * w[h];
      meanUN += dyRow[h] * w[h] * n[h];
    }
    meanU = centred ? meanU / width : 0.0f;
    meanUN /= width;
    for (int64_t h = 0; h < width; ++h)
      dx[t * width + h] = r * (dyRow[h] * w[h] - meanU - n[h] * meanUN);
  }
#pragma omp parallel for
  for (int64_t h = 0; h < width; ++h) {
    float s = 0.0f;
    for (int64_t t = 0; t < tokens; ++t)
      s += dy[t * width + h] * normed[t * width + h];
    dw[h] = s;
  }
}

Status runRMSNormGrad(const KernelArgs &a) {
  normGrad(a, false);
  return Status();
}

Status runLayerNormGrad(const KernelArgs &a) {
  normGrad(a, true);
  columnSums(a.in<float>(0), rows(a.input(0)), cols(a.input(0)),
             a.out<float>(2));
  return Status();
}

//===----------------------------------------------------------------------===//
// nn.rope_grad
//===----------------------------------------------------------------------===//

Status runRoPEGrad(const KernelArgs &a) {
  rotateByPosition(a, -1.0f);
  return Status();
}

//===----------------------------------------------------------------------===//
// nn.attention_grad
//===----------------------------------------------------------------------===//

/// Per (sequence, head), with P recomputed and dO the output gradient:
/// dV = P^T dO, dP = dO V^T, dS = P * (dP - rowsum(dP * P)) / sqrt(D),
/// dQ = dS K, dK = dS^T Q.
Status runAttentionGrad(const KernelArgs &a) {
  const TensorInfo &qInfo = a.input(1);
  int64_t tokens = rows(qInfo), qWidth = cols(qInfo);
  int64_t heads = a.intAttr("num_heads"), kvHeads = a.intAttr("num_kv_heads");
  int64_t seq = a.intAttr("seq_length"), batch = tokens / seq;
  int64_t headDim = qWidth / heads, kvWidth = kvHeads * headDim;
  int64_t group = heads / kvHeads;
  int64_t qStride = batch * qWidth, kvStride = batch * kvWidth;
  const float *dout = a.in<float>(0), *q = a.in<float>(1), *k = a.in<float>(2),
              *v = a.in<float>(3);
  float *dq = a.out<float>(0), *dk = a.out<float>(1), *dv = a.out<float>(2);
  float scale = 1.0f / std::sqrt(static_cast<float>(headDim));
  std::fill(dk, dk + tokens * kvWidth, 0.0f);
  std::fill(dv, dv + tokens * kvWidth, 0.0f);

  // A key/value head accumulates over its query heads, so the threads split
  // the (sequence, key/value head) pairs, whose gradients do not overlap.
#pragma omp parallel for collapse(2)
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t g = 0; g < kvHeads; ++g) {
      std::vector<float> probs(seq * seq), dscores(seq * seq);
      const float *kh = k + b * kvWidth + g * headDim;
      const float *vh = v + b * kvWidth + g * headDim;
      float *dkh = dk + b * kvWidth + g * headDim;
      float *dvh = dv + b * kvWidth + g * headDim;
      for (int64_t h = g * group; h < (g + 1) * group; ++h) {
        const float *qh = q + b * qWidth + h * headDim;
        const float *doh = dout + b * qWidth + h * headDim;
        causalAttentionProbabilities(qh, kh, seq, headDim, qStride, kvStride,
                                     probs.data());
        matmulTransA(probs.data(), doh, dvh, seq, headDim, seq, seq, qStride,
                     kvStride, 1.0f);
        matmulTransB(doh, vh, dscores.data(), seq, seq, headDim, qStride,
                     kvStride, seq);
        for (int64_t i = 0; i < seq; ++i) {
          const float *p = probs.data() + i * seq;
          float *ds = dscores.data() + i * seq;
          float dot = 0.0f;
          for (int64_t j = 0; j <= i; ++j)
            dot += p[j] * ds[j];
          for (int64_t j = 0; j < seq; ++j)
            ds[j] = p[j] * (ds[j] - dot) * scale;
        }
        matmul(dscores.data(), kh, dq + b * qWidth + h * headDim, seq, headDim,
               seq, seq, kvStride, qStride);
        matmulTransA(dscores.data(), qh, dkh, seq, headDim, seq, seq, qStride,
                     kvStride, 1.0f);
      }
    }
  }
  return Status();
}

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

Status runSwiGLUGrad(const KernelArgs &a) {
  int64_t n = a.input(0).numElements();
  const float *dy = a.in<float>(0), *gate = a.in<float>(1),
              *up = a.in<float>(2);
  float *dgate = a.out<float>(0), *dup = a.out<float>(1);
#pragma omp parallel for
  for (int64_t i = 0; i < n; ++i) {
    float s = 1.0f / (1.0f + std::exp(-gate[i]));
    dgate[i] = dy[i] * up[i] * s * (1.0f + gate[i] * (1.0f - s));
    dup[i] = dy[i] * gate[i] * s;
  }
  return Status();
}

Status runGeLUGrad(const KernelArgs &a) {
  int64_t n = a.input(0).numElements();
  bool tanhForm = a.enumAttr<plan::GeluApproximation>("approximate") ==
                  plan::GeluApproximation::Tanh;
  const float *dy = a.in<float>(0), *x = a.in<float>(1);
  float *dx = a.out<float>(0);
  const float root2OverPi = std::sqrt(2.0f / static_cast<float>(M_PI));
  const float inverseRoot2Pi =
      1.0f / std::sqrt(2.0f * static_cast<float>(M_PI));
#pragma omp parallel for
  for (int64_t i = 0; i < n; ++i) {
    float v = x[i], derivative;
    if (tanhForm) {
      float th = std::tanh(root2OverPi * (v + 0.044715f * v * v * v));
      derivative = 0.5f * (1.0f + th) + 0.5f * v * (1.0f - th * th) *
                                            root2OverPi *
                                            (1.0f + 3.0f * 0.044715f * v * v);
    } else {
      // Phi(v) + v phi(v), with phi the standard normal density.
      derivative = 0.5f * (1.0f + std::erf(v / std::sqrt(2.0f))) +
                   v * inverseRoot2Pi * std::exp(-0.5f * v * v);
    }
    dx[i] = dy[i] * derivative;
  }
  return Status();
}

Status runSigmoidGateGrad(const KernelArgs &a) {
  int64_t tokens = rows(a.input(0)), width = cols(a.input(0));
  const float *dy = a.in<float>(0), *x = a.in<float>(1), *g = a.in<float>(2);
  float *dx = a.out<float>(0), *dg = a.out<float>(1);
#pragma omp parallel for
  for (int64_t t = 0; t < tokens; ++t) {
    float s = 1.0f / (1.0f + std::exp(-g[t]));
    float dot = 0.0f;
    for (int64_t h = 0; h < width; ++h) {
      dx[t * width + h] = dy[t * width + h] * s;
      dot += dy[t * width + h] * x[t * width + h];
    }
    dg[t] = s * (1.0f - s) * dot;
  }
  return Status();
}

//===----------------------------------------------------------------------===//
// nn.cross_entropy_grad
//===----------------------------------------------------------------------===//

/// d(mean_t m_t NLL_t) / d logits[t] = m_t (softmax - onehot(label)) / sum m.
Status runCrossEntropyGrad(const KernelArgs &a) {
  int64_t tokens = rows(a.input(1)), vocab = cols(a.input(1));
  const float *logits = a.in<float>(1);
  const int32_t *labels = a.in<int32_t>(2);
  const float *mask = a.in<float>(3);
  float *grad = a.out<float>(0);
  double weight = 0.0;
  for (int64_t t = 0; t < tokens; ++t) {
    if (labels[t] < 0 || labels[t] >= vocab)
      return Status::error(
          fmt::format("label {} at position {} is outside the vocabulary of {}",
                      labels[t], t, vocab));
    weight += mask ? mask[t] : 1.0f;
  }
  // The forward loss of a fully masked batch is the constant 0.
  double perWeight = weight > 0 ? *a.in<float>(0) / weight : 0.0;
#pragma omp parallel for
  for (int64_t t = 0; t < tokens; ++t) {
    float *out = grad + t * vocab;
    double scale = perWeight * (mask ? mask[t] : 1.0f);
    if (scale == 0.0) {
      std::fill(out, out + vocab, 0.0f);
      continue;
    }
    std::vector<double> probs;
    softmaxRow(logits + t * vocab, vocab, probs);
    for (int64_t v = 0; v < vocab; ++v)
      out[v] = static_cast<float>(scale * (probs[v] - (v == labels[t])));
  }
  return Status();
}

} // namespace

std::vector<Kernel> denseGradKernels() {
  return {
      {"nn.embedding_grad", runEmbeddingGrad},
      {"nn.linear_grad_input", runLinearGradInput},
      {"nn.linear_grad_weight", runLinearGradWeight},
      {"nn.bias_grad", runBiasGrad},
      {"nn.rmsnorm_grad", runRMSNormGrad},
      {"nn.layernorm_grad", runLayerNormGrad},
      {"nn.rope_grad", runRoPEGrad},
      {"nn.attention_grad", runAttentionGrad},
      {"nn.swiglu_grad", runSwiGLUGrad},
      {"nn.gelu_grad", runGeLUGrad},
      {"nn.sigmoid_gate_grad", runSigmoidGateGrad},
      {"nn.cross_entropy_grad", runCrossEntropyGrad},
  };
}

} // namespace moert::cpu
