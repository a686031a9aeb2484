//===- DispatchKernels.cpp - capacity, permutation and grouped GEMMs ------===//

#include "KernelSupport.h"
#include "KernelTables.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <numeric>
#include <vector>

namespace moert::cpu {

namespace {

//===----------------------------------------------------------------------===//
// moe.capacity
//===----------------------------------------------------------------------===//

Status runCapacity(const KernelArgs &a) {
  int64_t tokens = rows(a.input(0)), k = cols(a.input(0));
  int64_t experts = a.output(1).shape[0];
  int64_t capacity = a.intAttr("capacity");
  bool byProbs =
      a.enumAttr<plan::DropPolicy>("policy") == plan::DropPolicy::Probs;
  const float *weights = a.in<float>(0);
  const int32_t *indices = a.in<int32_t>(1);
  uint8_t *keep = a.out<uint8_t>(0);
  int32_t *counts = a.out<int32_t>(1);

  MOERT_RETURN_IF_ERROR(checkExpertIndices(indices, tokens * k, experts));
  // The pairs routed to each expert, in token order.
  std::vector<std::vector<int64_t>> pairs(experts);
  for (int64_t p = 0; p < tokens * k; ++p)
    pairs[indices[p]].push_back(p);
  std::fill(keep, keep + tokens * k, 0);
  for (int64_t e = 0; e < experts; ++e) {
    std::vector<int64_t> &list = pairs[e];
    if (byProbs)
      std::stable_sort(list.begin(), list.end(), [&](int64_t x, int64_t y) {
        return weights[x] > weights[y];
      });
    int64_t kept = std::min<int64_t>(capacity, list.size());
    for (int64_t i = 0; i < kept; ++i)
      keep[list[i]] = 1;
    counts[e] =
        static_cast<int32_t>(a.boolAttr("pad_to_capacity") ? capacity : kept);
  }
  return Status();
}

//===----------------------------------------------------------------------===//
// moe.permute and the layout it shares with the fused GEMM
//===----------------------------------------------------------------------===//

/// Where each (token, slot) pair goes: rowMap[p] is its row or -1, sizes[e]
/// the rows of expert e. Packed rows follow expert order, then token order;
/// with a capacity, expert e owns rows [e * C, (e + 1) * C).
Status computeLayout(const int32_t *indices, const uint8_t *mask, int64_t pairs,
                     int64_t experts, int64_t capacity, int32_t *rowMap,
                     int32_t *sizes) {
  MOERT_RETURN_IF_ERROR(checkExpertIndices(indices, pairs, experts));
  std::vector<int64_t> kept(experts, 0);
  for (int64_t p = 0; p < pairs; ++p)
    if (!mask || mask[p])
      ++kept[indices[p]];
  std::vector<int64_t> next(experts, 0);
  for (int64_t e = 0; e < experts; ++e) {
    if (capacity && kept[e] > capacity)
      return Status::error(
          fmt::format("expert {} keeps {} tokens, more than its capacity of {}",
                      e, kept[e], capacity));
    next[e] = capacity ? e * capacity : (e ? next[e - 1] + kept[e - 1] : 0);
    sizes[e] = static_cast<int32_t>(capacity ? capacity : kept[e]);
  }
  for (int64_t p = 0; p < pairs; ++p)
    rowMap[p] =
        (!mask || mask[p]) ? static_cast<int32_t>(next[indices[p]]++) : -1;
  return Status();
}

/// Copies the input row of every kept pair p (token p / k) to row rowMap[p].
void gatherRows(const float *x, const int32_t *rowMap, int64_t pairs, int64_t k,
                int64_t width, float *out) {
  for (int64_t p = 0; p < pairs; ++p)
    if (rowMap[p] >= 0)
      std::copy_n(x + (p / k) * width, width, out + rowMap[p] * width);
}

int64_t capacityOf(const OpInfo &op) {
  return op.hasAttr("capacity") ? op.intAttr("capacity") : 0;
}

Status runPermute(const KernelArgs &a) {
  const TensorInfo &indices = a.input(1);
  int64_t pairs = indices.numElements(), k = cols(indices);
  int64_t width = cols(a.input(0)), experts = a.output(2).shape[0];
  int32_t *rowMap = a.out<int32_t>(1);
  MOERT_RETURN_IF_ERROR(computeLayout(a.in<int32_t>(1), a.in<uint8_t>(2), pairs,
                                      experts, capacityOf(a.op), rowMap,
                                      a.out<int32_t>(2)));
  const float *x = a.in<float>(0);
  float *out = a.out<float>(0);
  std::memset(out, 0, a.output(0).numBytes());
  gatherRows(x, rowMap, pairs, k, width, out);
  return Status();
}

/// output[t] = sum_j weights[t, j] * rows[rowMap[t, j]].
Status combine(const float *rowsData, int64_t numRows, const int32_t *rowMap,
               const float *weights, int64_t tokens, int64_t k, int64_t width,
               float *out) {
  MOERT_RETURN_IF_ERROR(checkRowMap(rowMap, tokens * k, numRows));
#pragma omp parallel for
  for (int64_t t = 0; t < tokens; ++t) {
    float *y = out + t * width;
    std::fill(y, y + width, 0.0f);
    for (int64_t j = 0; j < k; ++j) {
      int32_t row = rowMap[t * k + j];
      if (row < 0)
        continue;
      float w = weights[t * k + j];
      const float *r = rowsData + row * width;
      for (int64_t h = 0; h < width; ++h)
        y[h] += w * r[h];
    }
  }
  return Status();
}

Status runUnpermute(const KernelArgs &a) {
  return combine(a.in<float>(0), rows(a.input(0)), a.in<int32_t>(1),
                 a.in<float>(2), rows(a.input(1)), cols(a.input(1)),
                 cols(a.input(0)), a.out<float>(0));
}

//===----------------------------------------------------------------------===//
// Grouped GEMMs
//===----------------------------------------------------------------------===//

/// out rows of each expert = in rows * W_e^T; rows past the groups are zero.
Status groupedMatmul(const float *in, int64_t numRows, int64_t inWidth,
                     const float *weight, int64_t outWidth,
                     const int32_t *sizes, int64_t experts, float *out) {
  StatusOr<std::vector<int64_t>> starts = groupStarts(sizes, experts, numRows);
  if (!starts.ok())
    return starts.status();
  for (int64_t e = 0; e < experts; ++e)
    matmulTransB(in + (*starts)[e] * inWidth, weight + e * outWidth * inWidth,
                 out + (*starts)[e] * outWidth, sizes[e], outWidth, inWidth,
                 inWidth, inWidth, outWidth);
  int64_t used = (*starts)[experts];
  std::fill(out + used * outWidth, out + numRows * outWidth, 0.0f);
  return Status();
}

Status runGroupedMatmul(const KernelArgs &a) {
  return groupedMatmul(a.in<float>(0), rows(a.input(0)), cols(a.input(0)),
                       a.in<float>(1), a.input(1).shape[1], a.in<int32_t>(2),
                       a.input(2).shape[0], a.out<float>(0));
}

Status runGatherGroupedMatmul(const KernelArgs &a) {
  const TensorInfo &indices = a.input(1);
  int64_t pairs = indices.numElements(), k = cols(indices);
  int64_t width = cols(a.input(0)), numRows = rows(a.output(0));
  int64_t experts = a.output(2).shape[0];
  int32_t *rowMap = a.out<int32_t>(1);
  int32_t *sizes = a.out<int32_t>(2);
  MOERT_RETURN_IF_ERROR(computeLayout(a.in<int32_t>(1), a.in<uint8_t>(3), pairs,
                                      experts, capacityOf(a.op), rowMap,
                                      sizes));
  // Gather the rows (a scratch buffer here; the fused GPU kernel reads the
  // tokens directly), then the grouped GEMM.
  std::vector<float> gathered(numRows * width, 0.0f);
  gatherRows(a.in<float>(0), rowMap, pairs, k, width, gathered.data());
  return groupedMatmul(gathered.data(), numRows, width, a.in<float>(2),
                       a.input(2).shape[1], sizes, experts, a.out<float>(0));
}

Status runGroupedMatmulScatter(const KernelArgs &a) {
  int64_t numRows = rows(a.input(0)), outWidth = a.input(1).shape[1];
  std::vector<float> product(numRows * outWidth);
  MOERT_RETURN_IF_ERROR(groupedMatmul(
      a.in<float>(0), numRows, cols(a.input(0)), a.in<float>(1), outWidth,
      a.in<int32_t>(2), a.input(2).shape[0], product.data()));
  return combine(product.data(), numRows, a.in<int32_t>(3), a.in<float>(4),
                 rows(a.input(3)), cols(a.input(3)), outWidth, a.out<float>(0));
}

//===----------------------------------------------------------------------===//
// moe.sort_chunks
//===----------------------------------------------------------------------===//

/// Moves the chunks of rows from (member, expert) order to (expert, member)
/// order, or back with `inverse`.
Status runSortChunks(const KernelArgs &a) {
  const TensorInfo &input = a.input(0);
  int64_t sources = a.intAttr("sources");
  int64_t local = a.input(1).numElements() / sources;
  int64_t rowBytes = input.numBytes() / std::max<int64_t>(1, rows(input));
  const int32_t *sizes = a.in<int32_t>(1);
  // Each chunk's first row in (member, expert) and (expert, member) order.
  std::vector<int64_t> bySource(sources * local), byExpert(sources * local);
  int64_t total = 0;
  for (int64_t i = 0; i < sources * local; ++i) {
    if (sizes[i] < 0)
      return Status::error(fmt::format("chunk_sizes[{}] is {}", i, sizes[i]));
    bySource[i] = total;
    total += sizes[i];
  }
  if (total > rows(input))
    return Status::error(fmt::format(
        "chunk_sizes add up to {} rows, more than the {} of the input", total,
        rows(input)));
  for (int64_t l = 0, at = 0; l < local; ++l)
    for (int64_t i = 0; i < sources; ++i) {
      byExpert[i * local + l] = at;
      at += sizes[i * local + l];
    }
  bool inverse = a.boolAttr("inverse");
  const uint8_t *from = a.in<uint8_t>(0);
  uint8_t *to = a.out<uint8_t>(0);
  for (int64_t c = 0; c < sources * local; ++c) {
    int64_t source = inverse ? byExpert[c] : bySource[c];
    int64_t target = inverse ? bySource[c] : byExpert[c];
    std::memcpy(to + target * rowBytes, from + source * rowBytes,
                sizes[c] * rowBytes);
  }
  std::memset(to + total * rowBytes, 0, input.numBytes() - total * rowBytes);
  return Status();
}

} // namespace

std::vector<Kernel> dispatchKernels() {
  return {
      {"moe.capacity", runCapacity},
      {"moe.permute", runPermute},
      {"moe.unpermute", runUnpermute},
      {"moe.grouped_matmul", runGroupedMatmul},
      {"moe.gather_grouped_matmul", runGatherGroupedMatmul},
      {"moe.grouped_matmul_scatter", runGroupedMatmulScatter},
      {"moe.sort_chunks", runSortChunks},
  };
}

} // namespace moert::cpu
