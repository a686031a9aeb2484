//===- KernelSupport.h - checks and helpers the kernels share ---*- C++ -*-===//

#ifndef MOERT_SRC_BACKEND_CPU_KERNELSUPPORT_H
#define MOERT_SRC_BACKEND_CPU_KERNELSUPPORT_H

#include "Kernels.h"

#include <string>
#include <vector>

namespace moert::cpu {

/// Checks that each of `count` routing indices names one of `experts`.
Status checkExpertIndices(const int32_t *indices, int64_t count,
                          int64_t experts);

/// Checks that each of `count` row map entries is a row of `numRows` or -1.
Status checkRowMap(const int32_t *rowMap, int64_t count, int64_t numRows);

/// Checks the group sizes against the row bound; returns each group's start.
StatusOr<std::vector<int64_t>> groupStarts(const int32_t *sizes,
                                           int64_t experts, int64_t numRows);

/// Row-major C = A * B^T with A [m, k] (row stride lda) and B [n, k] (row
/// stride ldb), C [m, n] (row stride ldc); accumulates into C when `beta` is
/// 1.
void matmulTransB(const float *a, const float *b, float *c, int64_t m,
                  int64_t n, int64_t k, int64_t lda, int64_t ldb, int64_t ldc,
                  float beta = 0.0f);
/// Row-major C = A * B with A [m, k] and B [k, n].
void matmul(const float *a, const float *b, float *c, int64_t m, int64_t n,
            int64_t k, int64_t lda, int64_t ldb, int64_t ldc,
            float beta = 0.0f);
/// Row-major C = A^T * B with A [k, m] and B [k, n].
void matmulTransA(const float *a, const float *b, float *c, int64_t m,
                  int64_t n, int64_t k, int64_t lda, int64_t ldb, int64_t ldc,
                  float beta = 0.0f);

/// Softmax of one row of logits, in double.
void softmaxRow(const float *logits, int64_t n, std::vector<double> &probs);
/// log(sum(exp(logits))) of one row.
double logSumExp(const float *logits, int64_t n);

/// Starts output 0 of a weight-gradient op from its `accumulate` operand
/// (input `index`) when it has one, copying it unless the plan gave both one
/// buffer (the accumulator updated in place). Returns the GEMM beta that
/// adds the gradient onto output 0: 1 after that, 0 without the operand.
float startFromAccumulator(const KernelArgs &a, size_t index);

/// nn.rope on the op's input 0 into its output 0; `direction` -1 rotates by
/// minus the angle, the transpose that nn.rope_grad applies.
void rotateByPosition(const KernelArgs &a, float direction);

/// The causal attention probabilities of one (sequence, head),
/// softmax(Q K^T / sqrt(headDim)) with row i attending to keys 0..i and zero
/// above the diagonal: `q` and `k` are `seq` rows of `headDim` at row strides
/// `qStride` and `kStride`, `probs` is [seq, seq].
void causalAttentionProbabilities(const float *q, const float *k, int64_t seq,
                                  int64_t headDim, int64_t qStride,
                                  int64_t kStride, float *probs);

} // namespace moert::cpu

#endif // MOERT_SRC_BACKEND_CPU_KERNELSUPPORT_H
