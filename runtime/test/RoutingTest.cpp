//===- RoutingTest.cpp - moe.topk against a naive reference ---------------===//

#include "PlanFixture.h"

#include "plan_generated.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <vector>

using moert::DType;
using moert::plan::SoftmaxPlacement;
using moert::testing::PlanFixture;

class TopKRouter : public moert::testing::BackendTest {};

MOERT_INSTANTIATE_ON_BACKENDS(TopKRouter);

namespace {

struct Routing {
  std::vector<float> weights;
  std::vector<int32_t> indices;
};

/// Routes through a plan of one moe.topk on `backend`.
Routing route(const std::string &backend, const std::vector<float> &logits,
              int64_t tokens, int64_t experts, int64_t k,
              SoftmaxPlacement softmax) {
  PlanFixture f(backend);
  int in = f.tensor({tokens, experts}), weights = f.tensor({tokens, k}),
      indices = f.tensor({tokens, k}, DType::I32);
  f.op("moe.topk", {in}, {weights, indices})
      .setInt("k", k)
      .setInt("softmax", static_cast<int64_t>(softmax));
  moert::Status status = f.prepare();
  EXPECT_TRUE(status.ok()) << status.message();
  if (!status.ok())
    return {};
  f.set(in, logits);
  status = f.run();
  EXPECT_TRUE(status.ok()) << status.message();
  return {f.get<float>(weights), f.get<int32_t>(indices)};
}

// Hugging Face's formulation: softmax over all experts, a full stable sort,
// the first k, and (for Post) renormalisation of the k probabilities.
Routing naiveRoute(const std::vector<float> &logits, int64_t tokens,
                   int64_t experts, int64_t k, SoftmaxPlacement softmax) {
  Routing r;
  for (int64_t t = 0; t < tokens; ++t) {
    std::vector<double> probs(experts);
    double total = 0.0;
    for (int64_t e = 0; e < experts; ++e)
      total += probs[e] =
          std::exp(static_cast<double>(logits[t * experts + e]));
    for (double &p : probs)
      p /= total;
    std::vector<int32_t> order(experts);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](int32_t a, int32_t b) { return probs[a] > probs[b]; });
    double kept = 0.0;
    for (int64_t j = 0; j < k; ++j)
      kept += probs[order[j]];
    for (int64_t j = 0; j < k; ++j) {
      r.indices.push_back(order[j]);
      double p = probs[order[j]];
      r.weights.push_back(
          static_cast<float>(softmax == SoftmaxPlacement::Post ? p / kept : p));
    }
  }
  return r;
}

std::vector<float> randomLogits(int64_t count, unsigned seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> dist(0.0f, 2.0f);
  std::vector<float> logits(count);
  for (float &l : logits)
    l = dist(gen);
  return logits;
}

} // namespace

TEST_P(TopKRouter, MatchesNaiveReferenceForEveryKAndPlacement) {
  const int64_t tokens = 64, experts = 8;
  std::vector<float> logits = randomLogits(tokens * experts, 7);
  for (SoftmaxPlacement softmax :
       {SoftmaxPlacement::Pre, SoftmaxPlacement::Post}) {
    for (int64_t k = 1; k <= experts; ++k) {
      Routing got = route(GetParam(), logits, tokens, experts, k, softmax);
      Routing want = naiveRoute(logits, tokens, experts, k, softmax);
      ASSERT_EQ(got.indices, want.indices) << "k = " << k;
      for (size_t i = 0; i < got.weights.size(); ++i)
        EXPECT_NEAR(got.weights[i], want.weights[i], 1e-6 * want.weights[i])
            << "k = " << k << ", entry " << i;
    }
  }
}

TEST_P(TopKRouter, PostSoftmaxWeightsSumToOne) {
  const int64_t tokens = 32, experts = 16, k = 4;
  Routing r = route(GetParam(), randomLogits(tokens * experts, 11), tokens,
                    experts, k, SoftmaxPlacement::Post);
  for (int64_t t = 0; t < tokens; ++t) {
    float sum = 0.0f;
    for (int64_t j = 0; j < k; ++j)
      sum += r.weights[t * k + j];
    EXPECT_NEAR(sum, 1.0f, 1e-6f) << "token " << t;
  }
}

TEST_P(TopKRouter, EqualLogitsGoToTheLowerExpert) {
  // Token 0: experts 1 and 3 tie for first; token 1: every expert ties.
  std::vector<float> logits = {0.5f, 2.0f, -1.0f, 2.0f, //
                               1.0f, 1.0f, 1.0f,  1.0f};
  Routing r = route(GetParam(), logits, 2, 4, 2, SoftmaxPlacement::Post);
  EXPECT_EQ(r.indices, (std::vector<int32_t>{1, 3, 0, 1}));
  for (float w : r.weights)
    EXPECT_FLOAT_EQ(w, 0.5f);
}

TEST_P(TopKRouter, SwitchTop1ReturnsTheFullSoftmaxProbability) {
  std::vector<float> logits = {std::log(1.0f), std::log(3.0f), std::log(4.0f),
                               std::log(2.0f)};
  Routing r = route(GetParam(), logits, 1, 4, 1, SoftmaxPlacement::Pre);
  EXPECT_EQ(r.indices[0], 2);
  EXPECT_NEAR(r.weights[0], 0.4f, 1e-6f);
}

TEST_P(TopKRouter, LargeLogitsDoNotOverflow) {
  std::vector<float> logits = {1000.0f, 999.0f, -1000.0f};
  Routing r = route(GetParam(), logits, 1, 3, 2, SoftmaxPlacement::Pre);
  EXPECT_EQ(r.indices, (std::vector<int32_t>{0, 1}));
  EXPECT_NEAR(r.weights[0], 1.0 / (1.0 + std::exp(-1.0)), 1e-6);
  EXPECT_TRUE(std::isfinite(r.weights[1]));
}
