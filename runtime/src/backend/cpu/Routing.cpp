//===- Routing.cpp - token-choice routing on the CPU ----------------------===//

#include "Routing.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

namespace moert::cpu {

void topkRoute(const float *logits, int64_t numTokens, int64_t numExperts,
               int64_t k, plan::SoftmaxPlacement softmax, float *weights,
               int32_t *indices) {
  std::vector<int32_t> order(numExperts);
  for (int64_t t = 0; t < numTokens; ++t) {
    const float *row = logits + t * numExperts;
    std::iota(order.begin(), order.end(), 0);
    // Stable on equal logits, so the lower expert index comes first.
    std::partial_sort(order.begin(), order.begin() + k, order.end(),
                      [row](int32_t a, int32_t b) {
                        return row[a] > row[b] || (row[a] == row[b] && a < b);
                      });

    // Subtracting the row maximum (the first choice) keeps exp() in range.
    float maxLogit = row[order[0]];
    int64_t normalisedOver =
        softmax == plan::SoftmaxPlacement::Post ? k : numExperts;
    double denominator = 0.0;
    for (int64_t j = 0; j < normalisedOver; ++j)
      denominator += std::exp(static_cast<double>(row[order[j]] - maxLogit));
    for (int64_t j = 0; j < k; ++j) {
      indices[t * k + j] = order[j];
      weights[t * k + j] = static_cast<float>(
          std::exp(static_cast<double>(row[order[j]] - maxLogit)) /
          denominator);
    }
  }
}

} // namespace moert::cpu
