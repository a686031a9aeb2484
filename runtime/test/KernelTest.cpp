//===- KernelTest.cpp - every CPU kernel against a naive reference --------===//

#include "PlanFixture.h"

#include "moert/SplitMix.h"
#include "plan_generated.h"

#include <cmath>
#include <numeric>
#include <random>

using moert::DType;
using moert::Status;
using moert::testing::PlanFixture;

class DenseKernels : public moert::testing::BackendTest {};
class MoeKernels : public moert::testing::BackendTest {};

MOERT_INSTANTIATE_ON_BACKENDS(DenseKernels);
MOERT_INSTANTIATE_ON_BACKENDS(MoeKernels);

namespace {

std::vector<float> randomValues(size_t count, unsigned seed, float scale = 1) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> values(count);
  for (float &v : values)
    v = dist(gen);
  return values;
}

void expectNear(const std::vector<float> &got, const std::vector<float> &want,
                float tolerance) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i)
    EXPECT_NEAR(got[i], want[i], tolerance * (1 + std::abs(want[i])))
        << "element " << i;
}

} // namespace

TEST_P(DenseKernels, LinearWithBiasMatchesNaive) {
  PlanFixture f = fixture();
  int x = f.tensor({5, 7}), w = f.tensor({3, 7}), b = f.tensor({3}),
      y = f.tensor({5, 3});
  f.op("nn.linear", {x, w, b}, {y});
  ASSERT_TRUE(f.prepare().ok());
  auto xs = randomValues(35, 1), ws = randomValues(21, 2),
       bs = randomValues(3, 3);
  f.set(x, xs);
  f.set(w, ws);
  f.set(b, bs);
  ASSERT_TRUE(f.run().ok());
  std::vector<float> want(15);
  for (int t = 0; t < 5; ++t)
    for (int o = 0; o < 3; ++o) {
      double sum = bs[o];
      for (int i = 0; i < 7; ++i)
        sum += xs[t * 7 + i] * ws[o * 7 + i];
      want[t * 3 + o] = static_cast<float>(sum);
    }
  expectNear(f.get<float>(y), want, 1e-5f);
}

TEST_P(DenseKernels, RMSNormMatchesNaive) {
  PlanFixture f = fixture();
  int x = f.tensor({4, 6}), g = f.tensor({6}), y = f.tensor({4, 6});
  f.op("nn.rmsnorm", {x, g}, {y}).setFloat("eps", 1e-5);
  ASSERT_TRUE(f.prepare().ok());
  auto xs = randomValues(24, 4), gs = randomValues(6, 5);
  f.set(x, xs);
  f.set(g, gs);
  ASSERT_TRUE(f.run().ok());
  std::vector<float> want(24);
  for (int t = 0; t < 4; ++t) {
    double ms = 0;
    for (int h = 0; h < 6; ++h)
      ms += xs[t * 6 + h] * xs[t * 6 + h] / 6.0;
    for (int h = 0; h < 6; ++h)
      want[t * 6 + h] =
          static_cast<float>(xs[t * 6 + h] / std::sqrt(ms + 1e-5) * gs[h]);
  }
  expectNear(f.get<float>(y), want, 1e-5f);
}

TEST_P(DenseKernels, CausalGroupedQueryAttentionMatchesNaive) {
  // 2 sequences of 5 tokens, 4 query heads sharing 2 key/value heads of 3.
  const int seq = 5, batch = 2, heads = 4, kvHeads = 2, dim = 3;
  const int tokens = seq * batch;
  PlanFixture f = fixture();
  int q = f.tensor({tokens, heads * dim}),
      k = f.tensor({tokens, kvHeads * dim}),
      v = f.tensor({tokens, kvHeads * dim}),
      o = f.tensor({tokens, heads * dim});
  auto &op = f.op("nn.attention", {q, k, v}, {o});
  op.setInt("num_heads", heads)
      .setInt("num_kv_heads", kvHeads)
      .setInt("seq_length", seq);
  ASSERT_TRUE(f.prepare().ok());
  auto qs = randomValues(tokens * heads * dim, 6),
       ks = randomValues(tokens * kvHeads * dim, 7),
       vs = randomValues(tokens * kvHeads * dim, 8);
  f.set(q, qs);
  f.set(k, ks);
  f.set(v, vs);
  ASSERT_TRUE(f.run().ok());
  std::vector<float> want(tokens * heads * dim);
  for (int b = 0; b < batch; ++b)
    for (int h = 0; h < heads; ++h) {
      int g = h / (heads / kvHeads);
      for (int i = 0; i < seq; ++i) {
        int ti = i * batch + b;
        std::vector<double> p(i + 1);
        double max = -1e30, sum = 0;
        for (int j = 0; j <= i; ++j) {
          int tj = j * batch + b;
          double s = 0;
          for (int d = 0; d < dim; ++d)
            s += qs[ti * heads * dim + h * dim + d] *
                 ks[tj * kvHeads * dim + g * dim + d];
          p[j] = s / std::sqrt(double(dim));
          max = std::max(max, p[j]);
        }
        for (double &x : p)
          sum += x = std::exp(x - max);
        for (int d = 0; d < dim; ++d) {
          double acc = 0;
          for (int j = 0; j <= i; ++j)
            acc +=
                p[j] / sum * vs[(j * batch + b) * kvHeads * dim + g * dim + d];
          want[ti * heads * dim + h * dim + d] = static_cast<float>(acc);
        }
      }
    }
  expectNear(f.get<float>(o), want, 1e-5f);
}

TEST_P(DenseKernels, RoPERotatesHalvesByPosition) {
  // One head of 4 channels, sequence of 3, batch 2: token t is at t / 2.
  PlanFixture f = fixture();
  int x = f.tensor({6, 4}), y = f.tensor({6, 4});
  auto &op = f.op("nn.rope", {x}, {y});
  op.setInt("head_dim", 4).setInt("seq_length", 3);
  op.setFloat("theta", 100.0);
  ASSERT_TRUE(f.prepare().ok());
  auto xs = randomValues(24, 9);
  f.set(x, xs);
  ASSERT_TRUE(f.run().ok());
  std::vector<float> want(24);
  for (int t = 0; t < 6; ++t)
    for (int i = 0; i < 2; ++i) {
      double angle = (t / 2) * std::pow(100.0, -2.0 * i / 4);
      double a = xs[t * 4 + i], b = xs[t * 4 + i + 2];
      want[t * 4 + i] =
          static_cast<float>(a * std::cos(angle) - b * std::sin(angle));
      want[t * 4 + i + 2] =
          static_cast<float>(b * std::cos(angle) + a * std::sin(angle));
    }
  expectNear(f.get<float>(y), want, 1e-5f);
}

TEST_P(DenseKernels, CrossEntropyIsMeanNegativeLogLikelihood) {
  PlanFixture f = fixture();
  int logits = f.tensor({3, 4}), labels = f.tensor({3}, DType::I32),
      loss = f.tensor({});
  f.op("nn.cross_entropy", {logits, labels}, {loss});
  ASSERT_TRUE(f.prepare().ok());
  auto ls = randomValues(12, 10);
  std::vector<int32_t> ys = {0, 3, 1};
  f.set(logits, ls);
  f.set(labels, ys);
  ASSERT_TRUE(f.run().ok());
  double want = 0;
  for (int t = 0; t < 3; ++t) {
    double sum = 0;
    for (int v = 0; v < 4; ++v)
      sum += std::exp(ls[t * 4 + v]);
    want += (std::log(sum) - ls[t * 4 + ys[t]]) / 3;
  }
  EXPECT_NEAR(f.get<float>(loss)[0], want, 1e-6);

  f.set(labels, std::vector<int32_t>{0, 4, 1});
  Status bad = f.run();
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find(
                "label 4 at position 1 is outside the vocabulary of 4"),
            std::string::npos)
      << bad.message();
}

TEST_P(DenseKernels, EmbeddingRejectsIdsOutsideTheTable) {
  PlanFixture f = fixture();
  int ids = f.tensor({2}, DType::I32), table = f.tensor({3, 2}),
      out = f.tensor({2, 2});
  f.op("nn.embedding", {ids, table}, {out});
  ASSERT_TRUE(f.prepare().ok());
  f.set(table, std::vector<float>{1, 2, 3, 4, 5, 6});
  f.set(ids, std::vector<int32_t>{2, 0});
  ASSERT_TRUE(f.run().ok());
  EXPECT_EQ(f.get<float>(out), (std::vector<float>{5, 6, 1, 2}));
  f.set(ids, std::vector<int32_t>{2, -1});
  Status bad = f.run();
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("token id -1 at position 1"), std::string::npos);
}

TEST_P(DenseKernels, CheckRejectsMismatchedShapes) {
  PlanFixture f = fixture();
  int x = f.tensor({5, 7}), w = f.tensor({3, 6}), y = f.tensor({5, 3});
  f.op("nn.linear", {x, w}, {y});
  Status status = f.prepare();
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find(
                "forward op 0: op nn.linear: weight must have shape [3, 7]"),
            std::string::npos)
      << status.message();
}

TEST_P(MoeKernels, AuxLossMatchesTheFormula) {
  // T = 4, E = 2, k = 1: aux = coeff * E / (k T^2) * sum_e P_e c_e.
  PlanFixture f = fixture();
  int logits = f.tensor({4, 2}), idx = f.tensor({4, 1}, DType::I32),
      loss = f.tensor({});
  f.op("moe.aux_loss", {logits, idx}, {loss}).setFloat("coeff", 0.5);
  ASSERT_TRUE(f.prepare().ok());
  std::vector<float> ls = {0, 0, std::log(3.0f), 0, 0, std::log(3.0f), 0, 0};
  f.set(logits, ls);
  f.set(idx, std::vector<int32_t>{0, 0, 1, 0});
  ASSERT_TRUE(f.run().ok());
  // P_0 = .5 + .75 + .25 + .5 = 2, P_1 = 2; c = (3, 1).
  EXPECT_NEAR(f.get<float>(loss)[0], 0.5 * 2.0 / 16.0 * (2 * 3 + 2 * 1), 1e-6);
}

TEST_P(MoeKernels, SequenceAuxLossAveragesTheSequences) {
  // T = 4 tokens as 2 sequences of 2 (sequence b holds t = b, b + 2).
  PlanFixture f = fixture();
  int logits = f.tensor({4, 2}), idx = f.tensor({4, 1}, DType::I32),
      loss = f.tensor({});
  auto &op = f.op("moe.aux_loss", {logits, idx}, {loss});
  op.setFloat("coeff", 1.0);
  op.setInt("seq_length", 2);
  ASSERT_TRUE(f.prepare().ok());
  f.set(logits, std::vector<float>(8, 0.0f));
  f.set(idx, std::vector<int32_t>{0, 1, 0, 0});
  ASSERT_TRUE(f.run().ok());
  // Sequence 0 routes both tokens to expert 0: 2/4 * (1 * 2) = 1; sequence 1
  // routes one to each: 2/4 * (1 + 1) = 1.
  EXPECT_NEAR(f.get<float>(loss)[0], 1.0, 1e-6);
}

TEST_P(MoeKernels, ZLossIsMeanSquaredLogSumExp) {
  PlanFixture f = fixture();
  int logits = f.tensor({2, 2}), loss = f.tensor({});
  f.op("moe.z_loss", {logits}, {loss}).setFloat("coeff", 0.1);
  ASSERT_TRUE(f.prepare().ok());
  f.set(logits, std::vector<float>{0, 0, 1, 1});
  ASSERT_TRUE(f.run().ok());
  double a = std::log(2.0), b = 1 + std::log(2.0);
  EXPECT_NEAR(f.get<float>(loss)[0], 0.1 * (a * a + b * b) / 2, 1e-6);
}

TEST_P(MoeKernels, CapacityDropsByPolicy) {
  // 4 tokens, top-1, 2 experts, capacity 2: tokens 0, 1, 2 pick expert 0.
  for (int64_t policy : {0, 1}) {
    PlanFixture f = fixture();
    int w = f.tensor({4, 1}), idx = f.tensor({4, 1}, DType::I32),
        keep = f.tensor({4, 1}, DType::I1), counts = f.tensor({2}, DType::I32);
    auto &op = f.op("moe.capacity", {w, idx}, {keep, counts});
    op.setInt("capacity", 2)
        .setInt("policy", policy)
        .setBool("pad_to_capacity", false);
    op.setFloat("capacity_factor", 1.0);
    ASSERT_TRUE(f.prepare().ok());
    f.set(w, std::vector<float>{0.2f, 0.9f, 0.5f, 0.7f});
    f.set(idx, std::vector<int32_t>{0, 0, 0, 1});
    ASSERT_TRUE(f.run().ok());
    std::vector<uint8_t> want = policy == 0 ? std::vector<uint8_t>{0, 1, 1, 1}
                                            : std::vector<uint8_t>{1, 1, 0, 1};
    EXPECT_EQ(f.get<uint8_t>(keep), want) << "policy " << policy;
    EXPECT_EQ(f.get<int32_t>(counts), (std::vector<int32_t>{2, 1}));
  }
}

namespace {
/// Runs an expert MLP without activation, W2 (W1 x), through permute ->
/// grouped GEMM -> grouped GEMM -> unpermute and through the fused
/// gather_grouped_matmul -> grouped_matmul_scatter, and compares both with a
/// per-token reference.
void checkDispatch(const std::string &backend,
                   const std::vector<int32_t> &indices, int64_t k,
                   int64_t experts, const std::vector<uint8_t> *mask,
                   int64_t capacity) {
  int64_t tokens = indices.size() / k, width = 3, hidden = 4, out = 2;
  int64_t numRows = capacity ? experts * capacity : tokens * k;
  PlanFixture f(backend);
  int x = f.tensor({tokens, width}), idx = f.tensor({tokens, k}, DType::I32),
      w = f.tensor({tokens, k}), w1 = f.tensor({experts, hidden, width}),
      w2 = f.tensor({experts, out, hidden});
  int m = mask ? f.tensor({tokens, k}, DType::I1) : -1;
  int rowsT = f.tensor({numRows, width}),
      map = f.tensor({tokens, k}, DType::I32),
      sizes = f.tensor({experts}, DType::I32), h = f.tensor({numRows, hidden}),
      o = f.tensor({numRows, out}), y = f.tensor({tokens, out});
  int fusedH = f.tensor({numRows, hidden}),
      fusedMap = f.tensor({tokens, k}, DType::I32),
      fusedSizes = f.tensor({experts}, DType::I32),
      fusedY = f.tensor({tokens, out});
  auto &permute = f.op("moe.permute", {x, idx, m}, {rowsT, map, sizes});
  if (capacity)
    permute.setInt("capacity", capacity);
  f.op("moe.grouped_matmul", {rowsT, w1, sizes}, {h});
  f.op("moe.grouped_matmul", {h, w2, sizes}, {o});
  f.op("moe.unpermute", {o, map, w}, {y});
  auto &gather = f.op("moe.gather_grouped_matmul", {x, idx, w1, m},
                      {fusedH, fusedMap, fusedSizes});
  if (capacity)
    gather.setInt("capacity", capacity);
  f.op("moe.grouped_matmul_scatter", {fusedH, w2, fusedSizes, fusedMap, w},
       {fusedY});
  Status prepared = f.prepare();
  ASSERT_TRUE(prepared.ok()) << prepared.message();
  auto xs = randomValues(tokens * width, 11), ws = randomValues(tokens * k, 12),
       w1s = randomValues(experts * hidden * width, 13),
       w2s = randomValues(experts * out * hidden, 14);
  f.set(x, xs);
  f.set(idx, indices);
  f.set(w, ws);
  f.set(w1, w1s);
  f.set(w2, w2s);
  if (mask)
    f.set(m, *mask);
  Status ran = f.run();
  ASSERT_TRUE(ran.ok()) << ran.message();

  std::vector<float> want(tokens * out, 0.0f);
  for (int64_t p = 0; p < tokens * k; ++p) {
    if (mask && !(*mask)[p])
      continue;
    int64_t t = p / k, e = indices[p];
    std::vector<double> mid(hidden, 0.0);
    for (int64_t j = 0; j < hidden; ++j)
      for (int64_t i = 0; i < width; ++i)
        mid[j] += xs[t * width + i] * w1s[(e * hidden + j) * width + i];
    for (int64_t c = 0; c < out; ++c) {
      double dot = 0;
      for (int64_t j = 0; j < hidden; ++j)
        dot += mid[j] * w2s[(e * out + c) * hidden + j];
      want[t * out + c] += static_cast<float>(ws[p] * dot);
    }
  }
  expectNear(f.get<float>(y), want, 1e-5f);
  expectNear(f.get<float>(fusedY), want, 1e-5f);
  EXPECT_EQ(f.get<int32_t>(map), f.get<int32_t>(fusedMap));
  std::vector<int32_t> groupSizes = f.get<int32_t>(sizes);
  EXPECT_EQ(groupSizes, f.get<int32_t>(fusedSizes));
  for (int64_t e = 0; e < experts; ++e) {
    int64_t routed = 0;
    for (int64_t p = 0; p < tokens * k; ++p)
      routed += indices[p] == e && (!mask || (*mask)[p]);
    EXPECT_EQ(groupSizes[e], capacity ? capacity : routed) << "expert " << e;
  }
}
} // namespace

TEST_P(MoeKernels, DispatchWithAnIdleExpert) {
  checkDispatch(GetParam(), {0, 2, 2, 0, 0, 2}, 2, 3, nullptr, 0);
}

TEST_P(MoeKernels, DispatchWithEveryTokenOnOneExpert) {
  checkDispatch(GetParam(), {1, 1, 1, 1, 1}, 1, 4, nullptr, 0);
}

TEST_P(MoeKernels, DispatchPaddedToCapacityWithDrops) {
  std::vector<uint8_t> mask = {1, 1, 0, 1, 1, 0};
  checkDispatch(GetParam(), {0, 1, 0, 1, 0, 1}, 2, 2, &mask, 2);
}

TEST_P(MoeKernels, GroupSizesBeyondTheBufferAreAnError) {
  PlanFixture f = fixture();
  int rows = f.tensor({4, 2}), weight = f.tensor({2, 3, 2}),
      sizes = f.tensor({2}, DType::I32), out = f.tensor({4, 3});
  f.op("moe.grouped_matmul", {rows, weight, sizes}, {out});
  ASSERT_TRUE(f.prepare().ok());
  f.set(sizes, std::vector<int32_t>{3, 2});
  Status status = f.run();
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("the groups hold 5 rows, more than the 4"),
            std::string::npos)
      << status.message();
}

TEST_P(MoeKernels, ExpertChoiceTakesEachExpertsTopTokens) {
  PlanFixture f = fixture();
  int logits = f.tensor({3, 2}), w = f.tensor({3, 2}),
      idx = f.tensor({3, 2}, DType::I32), keep = f.tensor({3, 2}, DType::I1);
  f.op("moe.expert_choice", {logits}, {w, idx, keep}).setInt("capacity", 1);
  ASSERT_TRUE(f.prepare().ok());
  // p(token, expert 0): 0.5, 0.88, 0.12 -> expert 0 takes token 1, expert 1
  // takes token 2.
  f.set(logits, std::vector<float>{0, 0, 2, 0, 0, 2});
  ASSERT_TRUE(f.run().ok());
  EXPECT_EQ(f.get<uint8_t>(keep), (std::vector<uint8_t>{0, 0, 1, 0, 0, 1}));
  EXPECT_EQ(f.get<int32_t>(idx), (std::vector<int32_t>{0, 1, 0, 1, 0, 1}));
  std::vector<float> weights = f.get<float>(w);
  EXPECT_NEAR(weights[2], 1 / (1 + std::exp(-2.0)), 1e-6);
  EXPECT_EQ(weights[0], 0.0f);
}

TEST_P(MoeKernels, SinkhornBalancesUniformRouting) {
  // Every token prefers expert 0 slightly; Sinkhorn spreads them evenly.
  PlanFixture f = fixture();
  int logits = f.tensor({4, 2}), w = f.tensor({4, 1}),
      idx = f.tensor({4, 1}, DType::I32);
  auto &op = f.op("moe.sinkhorn", {logits}, {w, idx});
  op.setInt("k", 1);
  op.setFloat("tol", 1e-6);
  op.setBool("evaluation", false);
  ASSERT_TRUE(f.prepare().ok());
  f.set(logits, std::vector<float>{0.4f, 0, 0.3f, 0, 0.2f, 0, 0.1f, 0});
  ASSERT_TRUE(f.run().ok());
  std::vector<int32_t> chosen = f.get<int32_t>(idx);
  EXPECT_EQ(std::count(chosen.begin(), chosen.end(), 0), 2);
  // Top-1 weights are the sigmoid of the chosen logit.
  std::vector<float> weights = f.get<float>(w);
  EXPECT_NEAR(weights[0], 1 / (1 + std::exp(-(chosen[0] == 0 ? 0.4 : 0.0))),
              1e-6);
}

/// Choices of the oracle's Sinkhorn (test/oracle/forward_oracle.py, in f64
/// with PyTorch) on logits whose plain top-1 is expert 0 for five tokens of
/// six: balanced, the last four share expert 2.
TEST_P(MoeKernels, SinkhornChoosesAsTheOracle) {
  std::vector<float> logits = {2.0f, 1.0f, 0.0f, 1.5f, 1.2f,  0.1f,
                               1.0f, 0.9f, 0.8f, 0.5f, 0.2f,  0.3f,
                               0.9f, 0.1f, 0.6f, 0.3f, 0.35f, 0.2f};
  for (auto [k, want] : {std::pair{1, std::vector<int32_t>{0, 1, 2, 2, 2, 2}},
                         std::pair{2, std::vector<int32_t>{0, 1, 1, 0, 2, 1, 2,
                                                           1, 2, 0, 2, 1}}}) {
    PlanFixture f = fixture();
    int l = f.tensor({6, 3}), w = f.tensor({6, k}),
        idx = f.tensor({6, k}, DType::I32);
    f.op("moe.sinkhorn", {l}, {w, idx})
        .setInt("k", k)
        .setFloat("tol", 1e-6)
        .setBool("evaluation", false);
    ASSERT_TRUE(f.prepare().ok());
    f.set(l, logits);
    ASSERT_TRUE(f.run().ok());
    EXPECT_EQ(f.get<int32_t>(idx), want) << "k = " << k;
  }
}

/// The noise is splitmix64's: with seed splitMix64(0) element 0 draws
/// splitMix64(0) ^ seed = 0, whose hash is the generator's published first
/// output from state 0, 0xe220a8397b1dcdaf; element 1 with seed
/// splitMix64(1) ^ 0x9e3779b97f4a7c15 draws its second, 0x6e789e6aa1b965f4.
/// u is the top 53 bits over 2^53; y = x * (1 - eps + 2 eps u).
TEST_P(MoeKernels, JitterDrawsSplitMix64sPublishedOutputs) {
  using Case = std::tuple<int, uint64_t, uint64_t>;
  uint64_t golden = 0x9e3779b97f4a7c15;
  for (auto [element, seed, draw] :
       {Case{0, moert::splitMix64(0), 0xe220a8397b1dcdaf},
        Case{1, moert::splitMix64(1) ^ golden, 0x6e789e6aa1b965f4}}) {
    PlanFixture f = fixture();
    int x = f.tensor({2}), s = f.tensor({}, DType::I64), y = f.tensor({2});
    f.op("moe.jitter", {x, s}, {y}).setFloat("eps", 0.25);
    ASSERT_TRUE(f.prepare().ok());
    f.set(x, std::vector<float>{3.0f, 3.0f});
    f.set(s, std::vector<int64_t>{static_cast<int64_t>(seed)});
    ASSERT_TRUE(f.run().ok());
    double u = static_cast<double>(draw >> 11) / 9007199254740992.0;
    float want = 3.0f * (1.0f - 0.25f + 0.5f * static_cast<float>(u));
    EXPECT_EQ(f.get<float>(y)[element], want) << "element " << element;
  }
}

TEST_P(MoeKernels, SinkhornInEvaluationChoosesByTheLogits) {
  // The same preference for expert 0: unbalanced, every token takes it.
  PlanFixture f = fixture();
  int logits = f.tensor({4, 2}), w = f.tensor({4, 1}),
      idx = f.tensor({4, 1}, DType::I32);
  auto &op = f.op("moe.sinkhorn", {logits}, {w, idx});
  op.setInt("k", 1);
  op.setFloat("tol", 1e-6);
  op.setBool("evaluation", true);
  ASSERT_TRUE(f.prepare().ok());
  f.set(logits, std::vector<float>{0.4f, 0, 0.3f, 0, 0.2f, 0, 0.1f, 0});
  ASSERT_TRUE(f.run().ok());
  EXPECT_EQ(f.get<int32_t>(idx), (std::vector<int32_t>{0, 0, 0, 0}));
  std::vector<float> weights = f.get<float>(w);
  for (int t = 0; t < 4; ++t)
    EXPECT_NEAR(weights[t], 1 / (1 + std::exp(-0.1 * (4 - t))), 1e-6);
}

TEST_P(DenseKernels, LayerNormMatchesNaive) {
  PlanFixture f = fixture();
  int x = f.tensor({3, 5}), g = f.tensor({5}), b = f.tensor({5}),
      y = f.tensor({3, 5});
  f.op("nn.layernorm", {x, g, b}, {y}).setFloat("eps", 1e-5);
  ASSERT_TRUE(f.prepare().ok());
  auto xs = randomValues(15, 20), gs = randomValues(5, 21),
       bs = randomValues(5, 22);
  f.set(x, xs);
  f.set(g, gs);
  f.set(b, bs);
  ASSERT_TRUE(f.run().ok());
  std::vector<float> want(15);
  for (int t = 0; t < 3; ++t) {
    double mean = 0, var = 0;
    for (int h = 0; h < 5; ++h)
      mean += xs[t * 5 + h] / 5.0;
    for (int h = 0; h < 5; ++h)
      var += (xs[t * 5 + h] - mean) * (xs[t * 5 + h] - mean) / 5.0;
    for (int h = 0; h < 5; ++h)
      want[t * 5 + h] = static_cast<float>(
          (xs[t * 5 + h] - mean) / std::sqrt(var + 1e-5) * gs[h] + bs[h]);
  }
  expectNear(f.get<float>(y), want, 1e-5f);
}

TEST_P(DenseKernels, ElementwiseOpsMatchTheirFormulas) {
  PlanFixture f = fixture();
  int a = f.tensor({2, 3}), b = f.tensor({2, 3}), gate = f.tensor({2, 1});
  int sum = f.tensor({2, 3}), swiglu = f.tensor({2, 3}), erf = f.tensor({2, 3}),
      tanh = f.tensor({2, 3}), gated = f.tensor({2, 3});
  f.op("nn.add", {a, b}, {sum});
  f.op("nn.swiglu", {a, b}, {swiglu});
  f.op("nn.gelu", {a}, {erf}).setInt("approximate", 0);
  f.op("nn.gelu", {a}, {tanh}).setInt("approximate", 1);
  f.op("nn.sigmoid_gate", {a, gate}, {gated});
  ASSERT_TRUE(f.prepare().ok());
  auto as = randomValues(6, 23), bs = randomValues(6, 24);
  std::vector<float> gs = {0.5f, -2.0f};
  f.set(a, as);
  f.set(b, bs);
  f.set(gate, gs);
  ASSERT_TRUE(f.run().ok());
  std::vector<float> wantSum(6), wantSwiglu(6), wantErf(6), wantTanh(6),
      wantGated(6);
  for (int i = 0; i < 6; ++i) {
    double x = as[i];
    wantSum[i] = static_cast<float>(x + bs[i]);
    wantSwiglu[i] = static_cast<float>(x / (1 + std::exp(-x)) * bs[i]);
    wantErf[i] =
        static_cast<float>(0.5 * x * (1 + std::erf(x / std::sqrt(2.0))));
    wantTanh[i] = static_cast<float>(
        0.5 * x *
        (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x))));
    wantGated[i] = static_cast<float>(x / (1 + std::exp(-gs[i / 3])));
  }
  expectNear(f.get<float>(sum), wantSum, 1e-6f);
  expectNear(f.get<float>(swiglu), wantSwiglu, 1e-6f);
  expectNear(f.get<float>(erf), wantErf, 1e-6f);
  expectNear(f.get<float>(tanh), wantTanh, 1e-6f);
  expectNear(f.get<float>(gated), wantGated, 1e-6f);
}

TEST_P(MoeKernels, RouterLogitsAreInputTimesWeightTransposed) {
  PlanFixture f = fixture();
  int x = f.tensor({4, 3}), w = f.tensor({2, 3}), l = f.tensor({4, 2});
  f.op("moe.router", {x, w}, {l});
  ASSERT_TRUE(f.prepare().ok());
  auto xs = randomValues(12, 25), ws = randomValues(6, 26);
  f.set(x, xs);
  f.set(w, ws);
  ASSERT_TRUE(f.run().ok());
  std::vector<float> want(8);
  for (int t = 0; t < 4; ++t)
    for (int e = 0; e < 2; ++e)
      for (int h = 0; h < 3; ++h)
        want[t * 2 + e] += xs[t * 3 + h] * ws[e * 3 + h];
  expectNear(f.get<float>(l), want, 1e-5f);
}

TEST_P(MoeKernels, JitterStaysInItsBandAndFollowsTheSeed) {
  PlanFixture f = fixture();
  int x = f.tensor({64, 8}), seed = f.tensor({}, DType::I64),
      y = f.tensor({64, 8});
  f.op("moe.jitter", {x, seed}, {y}).setFloat("eps", 0.1);
  ASSERT_TRUE(f.prepare().ok());
  f.set(x, std::vector<float>(512, 2.0f));
  f.set(seed, std::vector<int64_t>{5});
  ASSERT_TRUE(f.run().ok());
  std::vector<float> first = f.get<float>(y);
  double mean = 0;
  for (float v : first) {
    EXPECT_GE(v, 2.0f * 0.9f);
    EXPECT_LE(v, 2.0f * 1.1f);
    mean += v / 512;
  }
  EXPECT_NEAR(mean, 2.0, 0.02);
  ASSERT_TRUE(f.run().ok());
  EXPECT_EQ(f.get<float>(y), first) << "the same seed gives the same noise";
  f.set(seed, std::vector<int64_t>{6});
  ASSERT_TRUE(f.run().ok());
  EXPECT_NE(f.get<float>(y), first);
}

TEST_P(MoeKernels, CollectivesOverAGroupOfOneKeepTheRanksData) {
  // Groups: dp = 0, ep = 1, edp = 2, world = 3; reductions: sum = 0,
  // mean = 1.
  PlanFixture f = fixture();
  int x = f.tensor({2, 2}), reduced = f.tensor({2, 2}),
      gathered = f.tensor({2, 2}), scattered = f.tensor({2, 2});
  f.op("moe.all_reduce", {x}, {reduced})
      .setInt("group", 3)
      .setInt("size", 1)
      .setInt("reduction", 1);
  f.op("moe.all_gather", {x}, {gathered}).setInt("group", 1).setInt("size", 1);
  f.op("moe.reduce_scatter", {x}, {scattered})
      .setInt("group", 0)
      .setInt("size", 1);
  Status status = f.prepare();
  ASSERT_TRUE(status.ok()) << status.message();
  std::vector<float> values = {1, 2, 3, 4};
  f.set(x, values);
  ASSERT_TRUE(f.run().ok());
  EXPECT_EQ(f.get<float>(reduced), values);
  EXPECT_EQ(f.get<float>(gathered), values);
  EXPECT_EQ(f.get<float>(scattered), values);
}

TEST_P(MoeKernels, AllToAllOfOneRankKeepsTheSentRowsAndZeroesTheRest) {
  PlanFixture f = fixture();
  int rows = f.tensor({3, 2}), send = f.tensor({1}, DType::I32),
      recv = f.tensor({1}, DType::I32), out = f.tensor({4, 2});
  f.op("moe.all_to_all_v", {rows, send, recv}, {out})
      .setInt("group", 1)
      .setInt("size", 1);
  Status status = f.prepare();
  ASSERT_TRUE(status.ok()) << status.message();
  f.set(rows, std::vector<float>{1, 2, 3, 4, 5, 6});
  f.set(out, std::vector<float>(8, -1.0f));
  f.set(send, std::vector<int32_t>{2});
  f.set(recv, std::vector<int32_t>{2});
  ASSERT_TRUE(f.run().ok());
  EXPECT_EQ(f.get<float>(out), (std::vector<float>{1, 2, 3, 4, 0, 0, 0, 0}));

  f.set(recv, std::vector<int32_t>{3});
  EXPECT_EQ(f.run().message(),
            "forward op 0 (moe.all_to_all_v): member 0 of the ep group sent 2 "
            "rows, but recv_sizes[0] is 3");
  f.set(send, std::vector<int32_t>{4});
  EXPECT_EQ(f.run().message(),
            "forward op 0 (moe.all_to_all_v): send_sizes add up to 4 rows, "
            "more than the 3 of the input");
}

/// Two members' chunks for two local experts, rows (member, expert) with
/// sizes {1, 2, 0, 1}: sorted by expert they are m0e0, m1e0 (empty), m0e1,
/// m1e1; the inverse restores the input.
TEST_P(MoeKernels, SortChunksRegroupsRowsByExpertAndBack) {
  PlanFixture f = fixture();
  int rows = f.tensor({5, 2}), sizes = f.tensor({4}, DType::I32),
      sorted = f.tensor({5, 2}), back = f.tensor({5, 2});
  f.op("moe.sort_chunks", {rows, sizes}, {sorted})
      .setInt("sources", 2)
      .setBool("inverse", false);
  f.op("moe.sort_chunks", {sorted, sizes}, {back})
      .setInt("sources", 2)
      .setBool("inverse", true);
  Status status = f.prepare();
  ASSERT_TRUE(status.ok()) << status.message();
  // Rows a (m0e0), b c (m0e1), d (m1e1), and a fifth row past the chunks.
  f.set(rows, std::vector<float>{1, 1, 2, 2, 3, 3, 4, 4, 9, 9});
  f.set(sizes, std::vector<int32_t>{1, 2, 0, 1});
  ASSERT_TRUE(f.run().ok());
  EXPECT_EQ(f.get<float>(sorted),
            (std::vector<float>{1, 1, 2, 2, 3, 3, 4, 4, 0, 0}));
  EXPECT_EQ(f.get<float>(back),
            (std::vector<float>{1, 1, 2, 2, 3, 3, 4, 4, 0, 0}));

  // Sizes {2, 1, 1, 1}: m0e0 = rows 0-1, m0e1 = row 2, m1e0 = row 3, m1e1 =
  // row 4; by expert: 0, 1, 3, 2, 4.
  f.set(sizes, std::vector<int32_t>{2, 1, 1, 1});
  ASSERT_TRUE(f.run().ok());
  EXPECT_EQ(f.get<float>(sorted),
            (std::vector<float>{1, 1, 2, 2, 4, 4, 3, 3, 9, 9}));
  EXPECT_EQ(f.get<float>(back),
            (std::vector<float>{1, 1, 2, 2, 3, 3, 4, 4, 9, 9}));

  f.set(sizes, std::vector<int32_t>{2, 2, 1, 1});
  EXPECT_EQ(f.run().message(),
            "forward op 0 (moe.sort_chunks): chunk_sizes add up to 6 rows, "
            "more than the 5 of the input");
  f.set(sizes, std::vector<int32_t>{2, -1, 1, 1});
  EXPECT_EQ(f.run().message(),
            "forward op 0 (moe.sort_chunks): chunk_sizes[1] is -1");
}

/// In a group of one the member sends and keeps everything.
TEST_P(MoeKernels, DispatchCountsOfOneMemberKeepEveryExpert) {
  PlanFixture f = fixture();
  int counts = f.tensor({3}, DType::I32), send = f.tensor({1}, DType::I32),
      recv = f.tensor({1}, DType::I32), chunks = f.tensor({3}, DType::I32),
      local = f.tensor({3}, DType::I32);
  f.op("moe.dispatch_counts", {counts}, {send, recv, chunks, local})
      .setInt("group", 1)
      .setInt("size", 1);
  Status status = f.prepare();
  ASSERT_TRUE(status.ok()) << status.message();
  f.set(counts, std::vector<int32_t>{4, 0, 7});
  ASSERT_TRUE(f.run().ok());
  EXPECT_EQ(f.get<int32_t>(send), std::vector<int32_t>{11});
  EXPECT_EQ(f.get<int32_t>(recv), std::vector<int32_t>{11});
  EXPECT_EQ(f.get<int32_t>(chunks), (std::vector<int32_t>{4, 0, 7}));
  EXPECT_EQ(f.get<int32_t>(local), (std::vector<int32_t>{4, 0, 7}));
  f.set(counts, std::vector<int32_t>{4, -2, 7});
  EXPECT_EQ(f.run().message(), "forward op 0 (moe.dispatch_counts): member 0 "
                               "counts -2 rows for expert 1");
}

/// In a group of one every expert is local: the mask passes through.
TEST_P(MoeKernels, LocalExpertsOfOneMemberKeepEveryMaskedEntry) {
  PlanFixture f = fixture();
  int idx = f.tensor({2, 2}, DType::I32), mask = f.tensor({2, 2}, DType::I1),
      local = f.tensor({2, 2}, DType::I32), keep = f.tensor({2, 2}, DType::I1);
  f.op("moe.local_experts", {idx, mask}, {local, keep})
      .setInt("group", 1)
      .setInt("size", 1)
      .setInt("experts", 4);
  Status status = f.prepare();
  ASSERT_TRUE(status.ok()) << status.message();
  f.set(idx, std::vector<int32_t>{3, 0, 2, 1});
  f.set(mask, std::vector<uint8_t>{1, 0, 1, 1});
  ASSERT_TRUE(f.run().ok());
  EXPECT_EQ(f.get<int32_t>(local), (std::vector<int32_t>{3, 0, 2, 1}));
  EXPECT_EQ(f.get<uint8_t>(keep), (std::vector<uint8_t>{1, 0, 1, 1}));
  f.set(idx, std::vector<int32_t>{3, 4, 2, 1});
  EXPECT_EQ(f.run().message(), "forward op 0 (moe.local_experts): routing "
                               "entry 1 names expert 4 of 4");
}

/// The distributed optimizer's layout: flat and zero-padded, this member's
/// slice (the only one of a group of one), and the leading elements back.
TEST_P(MoeKernels, FlattenShardAndUnflattenRoundTrip) {
  PlanFixture f = fixture();
  int x = f.tensor({2, 3}), flat = f.tensor({8}), slice = f.tensor({8}),
      back = f.tensor({2, 3});
  f.op("moe.flatten", {x}, {flat});
  f.op("moe.local_shard", {flat}, {slice}).setInt("group", 0).setInt("size", 1);
  f.op("moe.unflatten", {slice}, {back});
  Status status = f.prepare();
  ASSERT_TRUE(status.ok()) << status.message();
  f.set(x, std::vector<float>{1, 2, 3, 4, 5, 6});
  f.set(flat, std::vector<float>(8, -1.0f));
  ASSERT_TRUE(f.run().ok());
  EXPECT_EQ(f.get<float>(flat), (std::vector<float>{1, 2, 3, 4, 5, 6, 0, 0}));
  EXPECT_EQ(f.get<float>(slice), (std::vector<float>{1, 2, 3, 4, 5, 6, 0, 0}));
  EXPECT_EQ(f.get<float>(back), (std::vector<float>{1, 2, 3, 4, 5, 6}));

  PlanFixture g = fixture();
  int a = g.tensor({4}), b = g.tensor({3});
  g.op("moe.local_shard", {a}, {b}).setInt("group", 0).setInt("size", 1);
  EXPECT_EQ(g.prepare().message(),
            "forward op 0: op moe.local_shard: input must have shape [3], got "
            "tensor<4xf32>");
}

/// Megatron's schedule at hand-computed points: lr 1e-3, min 1e-4, warmup 4,
/// decay to iteration 12, evaluated at the steps already taken (step - 1).
/// Warmup: taken/4 of the peak. Decay at taken 6, a quarter of the way:
/// linear 1e-4 + 0.75 * 9e-4 = 7.75e-4; cosine 1e-4 + (cos(pi/4) + 1) / 2 *
/// 9e-4 = 8.6819805e-4. Past iteration 12: the minimum. Constant: the peak.
TEST_P(MoeKernels, LRScheduleMatchesHandComputedValues) {
  struct Point {
    moert::plan::LRDecayStyle style;
    int64_t step;
    float rate;
  };
  constexpr auto Constant = moert::plan::LRDecayStyle::Constant;
  constexpr auto Linear = moert::plan::LRDecayStyle::Linear;
  constexpr auto Cosine = moert::plan::LRDecayStyle::Cosine;
  for (Point p : {Point{Cosine, 1, 0.0f}, Point{Cosine, 3, 5e-4f},
                  Point{Cosine, 5, 1e-3f}, Point{Linear, 7, 7.75e-4f},
                  Point{Cosine, 7, 8.6819805e-4f}, Point{Cosine, 13, 1e-4f},
                  Point{Linear, 14, 1e-4f}, Point{Constant, 7, 1e-3f},
                  Point{Constant, 100, 1e-3f}}) {
    PlanFixture f = fixture();
    int step = f.tensor({}, DType::I64), rate = f.tensor({});
    moert::OpInfo &op = f.op("nn.lr_schedule", {step}, {rate})
                            .setFloat("lr", 1e-3)
                            .setFloat("min_lr", 1e-4)
                            .setInt("warmup_iters", 4)
                            .setInt("style", static_cast<int64_t>(p.style));
    if (p.style != Constant)
      op.setInt("decay_iters", 12);
    Status status = f.prepare();
    ASSERT_TRUE(status.ok()) << status.message();
    f.set(step, std::vector<int64_t>{p.step});
    ASSERT_TRUE(f.run().ok());
    EXPECT_FLOAT_EQ(f.get<float>(rate)[0], p.rate)
        << "style " << static_cast<int>(p.style) << ", step " << p.step;
  }
}

/// The norm of gradients split over ranks: square_norm, then clip_factor,
/// equals clip_grad_norm over all of them. Squares 9 + 16 + 144 = 169, so
/// with scale 1/2 the norm is 6.5 and the factor 0.5 * 2 / (6.5 + 1e-6).
TEST_P(MoeKernels, ClipFactorOfSummedSquaresMatchesClipGradNorm) {
  PlanFixture f = fixture();
  int a = f.tensor({2}), b = f.tensor({1}), whole = f.tensor({}),
      factor = f.tensor({}), squares = f.tensor({}), splitNorm = f.tensor({}),
      splitFactor = f.tensor({});
  f.op("nn.clip_grad_norm", {a, b}, {whole, factor})
      .setFloat("max_norm", 2.0)
      .setFloat("scale", 0.5);
  f.op("nn.square_norm", {a, b}, {squares});
  f.op("nn.clip_factor", {squares}, {splitNorm, splitFactor})
      .setFloat("max_norm", 2.0)
      .setFloat("scale", 0.5);
  Status status = f.prepare();
  ASSERT_TRUE(status.ok()) << status.message();
  f.set(a, std::vector<float>{3, -4});
  f.set(b, std::vector<float>{12});
  ASSERT_TRUE(f.run().ok());
  EXPECT_EQ(f.get<float>(squares), std::vector<float>{169});
  EXPECT_EQ(f.get<float>(whole), std::vector<float>{6.5f});
  EXPECT_EQ(f.get<float>(splitNorm), std::vector<float>{6.5f});
  float expected = static_cast<float>(0.5 * 2.0 / (6.5 + 1e-6));
  EXPECT_EQ(f.get<float>(factor), std::vector<float>{expected});
  EXPECT_EQ(f.get<float>(splitFactor), std::vector<float>{expected});
}

TEST_P(MoeKernels, CollectivesOverLargerGroupsThanTheLaunchAreRefused) {
  PlanFixture f = fixture();
  int a = f.tensor({2, 2}), b = f.tensor({2, 2});
  f.op("moe.all_reduce", {a}, {b})
      .setInt("group", 2)
      .setInt("size", 4)
      .setInt("reduction", 0);
  EXPECT_EQ(f.prepare().message(),
            "forward op 0 (moe.all_reduce) runs over 4 ranks of the edp group, "
            "but this launch of 1 rank with expert parallelism 1 has 1");

  PlanFixture g = fixture();
  int c = g.tensor({2, 2}), d = g.tensor({8, 2});
  g.op("moe.all_gather", {c}, {d}).setInt("group", 1).setInt("size", 2);
  EXPECT_EQ(g.prepare().message(),
            "forward op 0: op moe.all_gather: output must have shape [4, 2], "
            "got tensor<8x2xf32>");
}

TEST_P(MoeKernels, RoutingIndicesOutsideTheExpertsAreAnError) {
  PlanFixture f = fixture();
  int x = f.tensor({2, 3}), idx = f.tensor({2, 1}, DType::I32),
      rows = f.tensor({2, 3}), map = f.tensor({2, 1}, DType::I32),
      sizes = f.tensor({4}, DType::I32);
  f.op("moe.permute", {x, idx}, {rows, map, sizes});
  ASSERT_TRUE(f.prepare().ok());
  f.set(idx, std::vector<int32_t>{1, 4});
  Status status = f.run();
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(
      status.message(),
      "forward op 0 (moe.permute): routing index 4 is not an expert of 4");
}

TEST_P(DenseKernels, AdamWMatchesTorchsUpdate) {
  // torch.optim.AdamW on p = [1, -2] with gradients [0.5, 0.1] then
  // [-0.3, 0.2], lr 0.1, betas (0.9, 0.95), eps 1e-8, weight decay 0.1 ends
  // at p = [0.8618359, -2.1549985] (computed with PyTorch 1.13).
  PlanFixture f = fixture();
  int p = f.tensor({2}), g = f.tensor({2}), m = f.tensor({2}),
      v = f.tensor({2}), lr = f.tensor({}), step = f.tensor({}, DType::I64);
  int p1 = f.tensor({2}), m1 = f.tensor({2}), v1 = f.tensor({2});
  auto &op = f.op("nn.adamw", {p, g, m, v, lr, step}, {p1, m1, v1});
  op.setFloat("beta1", 0.9)
      .setFloat("beta2", 0.95)
      .setFloat("eps", 1e-8)
      .setFloat("weight_decay", 0.1);
  ASSERT_TRUE(f.prepare().ok());
  std::vector<float> params = {1.0f, -2.0f}, m0 = {0, 0}, v0 = {0, 0};
  std::vector<std::vector<float>> grads = {{0.5f, 0.1f}, {-0.3f, 0.2f}};
  for (int64_t s = 1; s <= 2; ++s) {
    f.set(p, params);
    f.set(g, grads[s - 1]);
    f.set(m, m0);
    f.set(v, v0);
    f.set(lr, std::vector<float>{0.1f});
    f.set(step, std::vector<int64_t>{s});
    ASSERT_TRUE(f.run().ok());
    params = f.get<float>(p1);
    m0 = f.get<float>(m1);
    v0 = f.get<float>(v1);
  }
  EXPECT_NEAR(params[0], 0.8618359, 1e-6);
  EXPECT_NEAR(params[1], -2.1549985, 1e-6);

  f.set(step, std::vector<int64_t>{0});
  EXPECT_FALSE(f.run().ok());
}

TEST_P(MoeKernels, APermuteMaskMustBeBooleanOfTheRoutingShape) {
  PlanFixture f = fixture();
  int x = f.tensor({2, 3}), idx = f.tensor({2, 1}, DType::I32),
      mask = f.tensor({2, 1}), rows = f.tensor({2, 3}),
      map = f.tensor({2, 1}, DType::I32), sizes = f.tensor({4}, DType::I32);
  f.op("moe.permute", {x, idx, mask}, {rows, map, sizes});
  Status status = f.prepare();
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.message(),
            "forward op 0: op moe.permute: mask must be a rank-2 i1 "
            "tensor, got tensor<2x1xf32>");
}
