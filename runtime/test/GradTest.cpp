//===- GradTest.cpp - every gradient kernel against finite differences ----===//
//
// Each test builds a plan holding forward ops and their gradient ops, draws
// inputs and an upstream gradient g, and compares each gradient the kernels
// return with central differences of L = sum(g * forward output), re-running
// the plan at every perturbed input element.
//
//===----------------------------------------------------------------------===//

#include "PlanFixture.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <sstream>

using moert::DType;
using moert::Status;
using moert::testing::PlanFixture;

class DenseGrad : public moert::testing::BackendTest {};
class MoeGrad : public moert::testing::BackendTest {};

MOERT_INSTANTIATE_ON_BACKENDS(DenseGrad);
MOERT_INSTANTIATE_ON_BACKENDS(MoeGrad);

namespace {

/// `count` values uniform in [-scale, scale].
std::vector<float> uniform(size_t count, unsigned seed, float scale = 1.0f) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(-scale, scale);
  std::vector<float> values(count);
  for (float &v : values)
    v = dist(gen);
  return values;
}

/// Logits whose row t is 0, 0.5, 1, ... rotated by t places plus a random
/// offset, so no finite difference step reorders a row. When `experts`
/// divides `tokens` every column holds the same values up to the row offsets,
/// which Sinkhorn's token scaling absorbs: its balanced scores keep the gaps.
std::vector<float> separatedLogits(int64_t tokens, int64_t experts,
                                   unsigned seed) {
  std::vector<float> offsets = uniform(tokens, seed), logits(tokens * experts);
  for (int64_t t = 0; t < tokens; ++t)
    for (int64_t e = 0; e < experts; ++e)
      logits[t * experts + e] = 0.5f * ((e + t) % experts) + offsets[t];
  return logits;
}

/// A forward output and the upstream gradient L weighs it by.
struct Weighted {
  int tensor;
  std::vector<float> g;
};

void runPlan(PlanFixture &f) {
  Status status = f.run();
  ASSERT_TRUE(status.ok()) << status.message();
}

double lossOf(PlanFixture &f, const std::vector<Weighted> &outputs) {
  double loss = 0.0;
  for (const Weighted &w : outputs) {
    std::vector<float> y = f.get<float>(w.tensor);
    for (size_t i = 0; i < y.size(); ++i)
      loss += static_cast<double>(w.g[i]) * y[i];
  }
  return loss;
}

/// Expects the gradient op's output `gradient` to match central differences
/// of L with respect to the plan tensor `input`, within 1% of the largest
/// gradient plus the differences' float rounding (1e-4). `fixed` are
/// routing choices a step must not change.
/// The worst error is recorded as the test property `name`.
void expectGradient(PlanFixture &f, int input, int gradient,
                    const std::vector<Weighted> &outputs,
                    const std::string &name,
                    const std::vector<int> &fixed = {}) {
  const float step = 1e-2f;
  // NaN shows any element the kernel leaves unwritten.
  size_t count = f.get<float>(gradient).size();
  f.set(gradient,
        std::vector<float>(count, std::numeric_limits<float>::quiet_NaN()));
  ASSERT_NO_FATAL_FAILURE(runPlan(f));
  std::vector<float> analytic = f.get<float>(gradient), x = f.get<float>(input);
  ASSERT_EQ(analytic.size(), x.size()) << name;
  std::vector<std::vector<uint8_t>> choices;
  for (int tensor : fixed)
    choices.push_back(f.get<uint8_t>(tensor));
  float largest = 0.0f;
  for (float g : analytic)
    largest = std::max(largest, std::abs(g));
  double tolerance = 1e-2 * largest + 1e-4;

  double worst = 0.0;
  for (size_t i = 0; i < x.size(); ++i) {
    std::vector<float> shifted = x;
    float up = x[i] + step, down = x[i] - step;
    double loss[2];
    for (int side = 0; side < 2; ++side) {
      shifted[i] = side ? down : up;
      f.set(input, shifted);
      ASSERT_NO_FATAL_FAILURE(runPlan(f));
      for (size_t c = 0; c < fixed.size(); ++c)
        ASSERT_EQ(f.get<uint8_t>(fixed[c]), choices[c])
            << name << " element " << i << " changes the routing";
      loss[side] = lossOf(f, outputs);
    }
    double numeric = (loss[0] - loss[1]) /
                     (static_cast<double>(up) - static_cast<double>(down));
    double error = std::abs(numeric - analytic[i]);
    worst = std::max(worst, error);
    EXPECT_LE(error, tolerance)
        << name << " element " << i << ": finite difference " << numeric
        << ", kernel " << analytic[i];
  }
  f.set(input, x);
  std::ostringstream record;
  record << worst << " (largest gradient " << largest << ")";
  ::testing::Test::RecordProperty("fd_error_" + name, record.str());
}

} // namespace

//===----------------------------------------------------------------------===//
// nn
//===----------------------------------------------------------------------===//

TEST_P(DenseGrad, EmbeddingSumsTheRowsOfEachId) {
  PlanFixture f = fixture();
  int ids = f.tensor({5}, DType::I32), table = f.tensor({5, 4}),
      y = f.tensor({5, 4}), dy = f.tensor({5, 4}), dtable = f.tensor({5, 4});
  f.op("nn.embedding", {ids, table}, {y});
  f.op("nn.embedding_grad", {ids, dy}, {dtable});
  ASSERT_TRUE(f.prepare().ok());
  auto g = uniform(20, 1);
  // Ids 0 and 3 repeat; rows 2 and 4 are never looked up.
  f.set(ids, std::vector<int32_t>{3, 0, 3, 1, 0});
  f.set(table, uniform(20, 2));
  f.set(dy, g);
  expectGradient(f, table, dtable, {{y, g}}, "table");
}

TEST_P(DenseGrad, EmbeddingRejectsIdsOutsideTheTable) {
  PlanFixture f = fixture();
  int ids = f.tensor({2}, DType::I32), dy = f.tensor({2, 3}),
      dtable = f.tensor({4, 3});
  f.op("nn.embedding_grad", {ids, dy}, {dtable});
  ASSERT_TRUE(f.prepare().ok());
  f.set(ids, std::vector<int32_t>{1, 4});
  Status status = f.run();
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find(
                "token id 4 at position 1 is outside the table of 4 rows"),
            std::string::npos)
      << status.message();
}

/// Runs `kernel` on `inputs` three times: into a fresh gradient, adding onto
/// a separate accumulator, and adding onto the accumulator in place (its
/// input and output one tensor, as moe-optimizer's plans have it); the two
/// sums must be accumulator + gradient.
void expectAccumulates(const std::string &backend, const std::string &kernel,
                       const std::vector<std::vector<int64_t>> &shapes,
                       const std::vector<std::vector<float>> &values,
                       std::vector<int64_t> gradShape, int idsInput = -1) {
  PlanFixture f(backend);
  std::vector<int> inputs;
  for (size_t i = 0; i < shapes.size(); ++i)
    inputs.push_back(f.tensor(
        shapes[i], static_cast<int>(i) == idsInput ? DType::I32 : DType::F32));
  int fresh = f.tensor(gradShape), acc = f.tensor(gradShape),
      separate = f.tensor(gradShape), inPlace = f.tensor(gradShape);
  f.op(kernel, inputs, {fresh});
  std::vector<int> withAcc = inputs, withSelf = inputs;
  withAcc.push_back(acc);
  withSelf.push_back(inPlace);
  f.op(kernel, withAcc, {separate});
  f.op(kernel, withSelf, {inPlace});
  Status status = f.prepare();
  ASSERT_TRUE(status.ok()) << status.message();
  for (size_t i = 0; i < shapes.size(); ++i) {
    if (static_cast<int>(i) == idsInput) {
      std::vector<int32_t> ids(values[i].begin(), values[i].end());
      f.set(inputs[i], ids);
    } else {
      f.set(inputs[i], values[i]);
    }
  }
  size_t n = f.get<float>(acc).size();
  std::vector<float> start = uniform(n, 77);
  f.set(acc, start);
  f.set(inPlace, start);
  runPlan(f);
  std::vector<float> g = f.get<float>(fresh), a = f.get<float>(separate),
                     b = f.get<float>(inPlace);
  for (size_t i = 0; i < n; ++i) {
    EXPECT_NEAR(a[i], start[i] + g[i], 1e-5f) << kernel << " element " << i;
    EXPECT_NEAR(b[i], start[i] + g[i], 1e-5f) << kernel << " element " << i;
  }
}

TEST_P(DenseGrad, WeightGradientsAddIntoAnAccumulator) {
  expectAccumulates(GetParam(), "nn.linear_grad_weight", {{5, 3}, {5, 7}},
                    {uniform(15, 50), uniform(35, 51)}, {3, 7});
  expectAccumulates(GetParam(), "nn.embedding_grad", {{5}, {5, 4}},
                    {{3, 0, 3, 1, 0}, uniform(20, 52)}, {6, 4}, 0);
  // An expert with no rows keeps its accumulated gradient.
  expectAccumulates(
      GetParam(), "moe.grouped_matmul_grad_weight", {{7, 4}, {7, 3}, {3}},
      {uniform(28, 53), uniform(21, 54), {3, 0, 2}}, {3, 4, 3}, 2);
}

TEST_P(DenseGrad, EmbeddingLeavesTheAccumulatorOnABadId) {
  PlanFixture f = fixture();
  int ids = f.tensor({2}, DType::I32), dy = f.tensor({2, 3}),
      acc = f.tensor({4, 3});
  f.op("nn.embedding_grad", {ids, dy, acc}, {acc});
  ASSERT_TRUE(f.prepare().ok());
  f.set(ids, std::vector<int32_t>{1, 4});
  f.set(dy, uniform(6, 55));
  std::vector<float> start = uniform(12, 56);
  f.set(acc, start);
  EXPECT_FALSE(f.run().ok());
  EXPECT_EQ(f.get<float>(acc), start);
}

TEST_P(DenseGrad, LinearInputWeightAndBias) {
  PlanFixture f = fixture();
  int x = f.tensor({5, 7}), w = f.tensor({3, 7}), b = f.tensor({3}),
      y = f.tensor({5, 3}), dy = f.tensor({5, 3}), dx = f.tensor({5, 7}),
      dw = f.tensor({3, 7}), db = f.tensor({3});
  f.op("nn.linear", {x, w, b}, {y});
  f.op("nn.linear_grad_input", {dy, w}, {dx});
  f.op("nn.linear_grad_weight", {dy, x}, {dw});
  f.op("nn.bias_grad", {dy}, {db});
  ASSERT_TRUE(f.prepare().ok());
  auto g = uniform(15, 3);
  f.set(x, uniform(35, 4));
  f.set(w, uniform(21, 5));
  f.set(b, uniform(3, 6));
  f.set(dy, g);
  expectGradient(f, x, dx, {{y, g}}, "input");
  expectGradient(f, w, dw, {{y, g}}, "weight");
  expectGradient(f, b, db, {{y, g}}, "bias");
}

TEST_P(DenseGrad, RMSNorm) {
  PlanFixture f = fixture();
  int x = f.tensor({4, 6}), w = f.tensor({6}), y = f.tensor({4, 6}),
      dy = f.tensor({4, 6}), dx = f.tensor({4, 6}), dw = f.tensor({6});
  f.op("nn.rmsnorm", {x, w}, {y}).setFloat("eps", 1e-5);
  f.op("nn.rmsnorm_grad", {dy, x, w}, {dx, dw}).setFloat("eps", 1e-5);
  ASSERT_TRUE(f.prepare().ok());
  auto g = uniform(24, 7);
  f.set(x, uniform(24, 8));
  f.set(w, uniform(6, 9));
  f.set(dy, g);
  expectGradient(f, x, dx, {{y, g}}, "input");
  expectGradient(f, w, dw, {{y, g}}, "weight");
}

TEST_P(DenseGrad, LayerNorm) {
  PlanFixture f = fixture();
  int x = f.tensor({4, 6}), w = f.tensor({6}), b = f.tensor({6}),
      y = f.tensor({4, 6}), dy = f.tensor({4, 6}), dx = f.tensor({4, 6}),
      dw = f.tensor({6}), db = f.tensor({6});
  f.op("nn.layernorm", {x, w, b}, {y}).setFloat("eps", 1e-5);
  f.op("nn.layernorm_grad", {dy, x, w}, {dx, dw, db}).setFloat("eps", 1e-5);
  ASSERT_TRUE(f.prepare().ok());
  auto g = uniform(24, 10, 2.0f);
  f.set(x, uniform(24, 11));
  f.set(w, uniform(6, 12));
  f.set(b, uniform(6, 13));
  f.set(dy, g);
  expectGradient(f, x, dx, {{y, g}}, "input");
  expectGradient(f, w, dw, {{y, g}}, "weight");
  expectGradient(f, b, db, {{y, g}}, "bias");
}

TEST_P(DenseGrad, RoPEIsTheInverseRotation) {
  // Two heads of 4 channels, sequences of 3, batch 2.
  PlanFixture f = fixture();
  int x = f.tensor({6, 8}), y = f.tensor({6, 8}), dy = f.tensor({6, 8}),
      dx = f.tensor({6, 8});
  auto setAttrs = [](moert::OpInfo &op) {
    op.setInt("head_dim", 4).setInt("seq_length", 3);
    op.setFloat("theta", 100.0);
  };
  setAttrs(f.op("nn.rope", {x}, {y}));
  setAttrs(f.op("nn.rope_grad", {dy}, {dx}));
  ASSERT_TRUE(f.prepare().ok());
  auto g = uniform(48, 14);
  f.set(x, uniform(48, 15));
  f.set(dy, g);
  expectGradient(f, x, dx, {{y, g}}, "input");
}

TEST_P(DenseGrad, CausalGroupedQueryAttention) {
  // 2 sequences of 4 tokens, 4 query heads sharing 2 key/value heads of 2.
  const int seq = 4, batch = 2, heads = 4, kvHeads = 2, dim = 2;
  const int tokens = seq * batch;
  PlanFixture f = fixture();
  int q = f.tensor({tokens, heads * dim}),
      k = f.tensor({tokens, kvHeads * dim}),
      v = f.tensor({tokens, kvHeads * dim}),
      o = f.tensor({tokens, heads * dim}),
      dout = f.tensor({tokens, heads * dim}),
      dq = f.tensor({tokens, heads * dim}),
      dk = f.tensor({tokens, kvHeads * dim}),
      dv = f.tensor({tokens, kvHeads * dim});
  auto attention = [&](moert::OpInfo &op) {
    op.setInt("num_heads", heads)
        .setInt("num_kv_heads", kvHeads)
        .setInt("seq_length", seq);
  };
  attention(f.op("nn.attention", {q, k, v}, {o}));
  attention(f.op("nn.attention_grad", {dout, q, k, v}, {dq, dk, dv}));
  ASSERT_TRUE(f.prepare().ok());
  auto g = uniform(tokens * heads * dim, 16, 2.0f);
  f.set(q, uniform(tokens * heads * dim, 17, 2.0f));
  f.set(k, uniform(tokens * kvHeads * dim, 18, 2.0f));
  f.set(v, uniform(tokens * kvHeads * dim, 19, 2.0f));
  f.set(dout, g);
  expectGradient(f, q, dq, {{o, g}}, "query");
  expectGradient(f, k, dk, {{o, g}}, "key");
  expectGradient(f, v, dv, {{o, g}}, "value");
}

TEST_P(DenseGrad, SwiGLU) {
  PlanFixture f = fixture();
  int gate = f.tensor({3, 4}), up = f.tensor({3, 4}), y = f.tensor({3, 4}),
      dy = f.tensor({3, 4}), dgate = f.tensor({3, 4}), dup = f.tensor({3, 4});
  f.op("nn.swiglu", {gate, up}, {y});
  f.op("nn.swiglu_grad", {dy, gate, up}, {dgate, dup});
  ASSERT_TRUE(f.prepare().ok());
  auto g = uniform(12, 20, 2.0f);
  f.set(gate, uniform(12, 21, 3.0f));
  f.set(up, uniform(12, 22, 2.0f));
  f.set(dy, g);
  expectGradient(f, gate, dgate, {{y, g}}, "gate");
  expectGradient(f, up, dup, {{y, g}}, "up");
}

TEST_P(DenseGrad, GeLUExactAndTanh) {
  PlanFixture f = fixture();
  int x = f.tensor({3, 5}), dy = f.tensor({3, 5});
  int y[2], dx[2]; // by approximation: 0 = erf, 1 = tanh
  for (int64_t approximate : {0, 1}) {
    y[approximate] = f.tensor({3, 5});
    dx[approximate] = f.tensor({3, 5});
    f.op("nn.gelu", {x}, {y[approximate]}).setInt("approximate", approximate);
    f.op("nn.gelu_grad", {dy, x}, {dx[approximate]})
        .setInt("approximate", approximate);
  }
  ASSERT_TRUE(f.prepare().ok());
  auto g = uniform(15, 23, 2.0f);
  f.set(x, uniform(15, 24, 3.0f));
  f.set(dy, g);
  expectGradient(f, x, dx[0], {{y[0], g}}, "erf");
  expectGradient(f, x, dx[1], {{y[1], g}}, "tanh");
}

TEST_P(DenseGrad, SigmoidGate) {
  PlanFixture f = fixture();
  int x = f.tensor({3, 4}), gate = f.tensor({3, 1}), y = f.tensor({3, 4}),
      dy = f.tensor({3, 4}), dx = f.tensor({3, 4}), dgate = f.tensor({3, 1});
  f.op("nn.sigmoid_gate", {x, gate}, {y});
  f.op("nn.sigmoid_gate_grad", {dy, x, gate}, {dx, dgate});
  ASSERT_TRUE(f.prepare().ok());
  auto g = uniform(12, 25, 3.0f);
  f.set(x, uniform(12, 26, 2.0f));
  f.set(gate, uniform(3, 27, 2.0f));
  f.set(dy, g);
  expectGradient(f, x, dx, {{y, g}}, "input");
  expectGradient(f, gate, dgate, {{y, g}}, "gate");
}

TEST_P(DenseGrad, CrossEntropyWithAndWithoutALossMask) {
  PlanFixture f = fixture();
  int logits = f.tensor({4, 6}), labels = f.tensor({4}, DType::I32),
      mask = f.tensor({4}), gradLoss = f.tensor({}), loss = f.tensor({}),
      maskedLoss = f.tensor({}), dlogits = f.tensor({4, 6}),
      maskedDlogits = f.tensor({4, 6});
  f.op("nn.cross_entropy", {logits, labels}, {loss});
  f.op("nn.cross_entropy", {logits, labels, mask}, {maskedLoss});
  f.op("nn.cross_entropy_grad", {gradLoss, logits, labels, -1}, {dlogits});
  f.op("nn.cross_entropy_grad", {gradLoss, logits, labels, mask},
       {maskedDlogits});
  ASSERT_TRUE(f.prepare().ok());
  const float g = 5.0f;
  f.set(logits, uniform(24, 28, 2.0f));
  f.set(labels, std::vector<int32_t>{5, 0, 2, 2});
  f.set(mask, std::vector<float>{1.0f, 0.0f, 0.5f, 1.0f});
  f.set(gradLoss, std::vector<float>{g});
  expectGradient(f, logits, dlogits, {{loss, {g}}}, "logits");
  expectGradient(f, logits, maskedDlogits, {{maskedLoss, {g}}},
                 "masked_logits");

  f.set(mask, std::vector<float>(4, 0.0f));
  runPlan(f);
  EXPECT_EQ(f.get<float>(maskedDlogits), std::vector<float>(24, 0.0f))
      << "a fully masked batch has a constant loss";
}

TEST_P(DenseGrad, CheckRejectsMismatchedShapes) {
  PlanFixture f = fixture();
  int dy = f.tensor({5, 3}), x = f.tensor({4, 7}), dw = f.tensor({3, 7});
  f.op("nn.linear_grad_weight", {dy, x}, {dw});
  Status status = f.prepare();
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.message(),
            "forward op 0: op nn.linear_grad_weight: input must "
            "have shape [5, 7], got tensor<4x7xf32>");
}

//===----------------------------------------------------------------------===//
// moe
//===----------------------------------------------------------------------===//

TEST_P(MoeGrad, TopKWithSoftmaxBeforeAndAfterTheChoice) {
  for (int64_t softmax : {0, 1}) {
    SCOPED_TRACE(softmax ? "post" : "pre");
    PlanFixture f = fixture();
    int logits = f.tensor({6, 5}), w = f.tensor({6, 2}),
        idx = f.tensor({6, 2}, DType::I32), dw = f.tensor({6, 2}),
        dlogits = f.tensor({6, 5});
    f.op("moe.topk", {logits}, {w, idx})
        .setInt("k", 2)
        .setInt("softmax", softmax);
    f.op("moe.topk_grad", {dw, logits, idx}, {dlogits})
        .setInt("softmax", softmax);
    ASSERT_TRUE(f.prepare().ok());
    auto g = uniform(12, 29, 4.0f);
    f.set(logits, separatedLogits(6, 5, 30));
    f.set(dw, g);
    expectGradient(f, logits, dlogits, {{w, g}},
                   softmax ? "post_logits" : "pre_logits", {idx});
  }
}

TEST_P(MoeGrad, SinkhornTopOneAndTopTwo) {
  for (int64_t k : {1, 2}) {
    SCOPED_TRACE("k = " + std::to_string(k));
    PlanFixture f = fixture();
    int logits = f.tensor({8, 4}), w = f.tensor({8, k}),
        idx = f.tensor({8, k}, DType::I32), dw = f.tensor({8, k}),
        dlogits = f.tensor({8, 4});
    auto &op = f.op("moe.sinkhorn", {logits}, {w, idx});
    op.setInt("k", k);
    op.setFloat("tol", 1e-6);
    op.setBool("evaluation", false);
    f.op("moe.sinkhorn_grad", {dw, logits, idx}, {dlogits});
    ASSERT_TRUE(f.prepare().ok());
    auto g = uniform(8 * k, 31, 6.0f);
    f.set(logits, separatedLogits(8, 4, 32));
    f.set(dw, g);
    expectGradient(f, logits, dlogits, {{w, g}},
                   "top" + std::to_string(k) + "_logits", {idx});
  }
}

TEST_P(MoeGrad, ExpertChoice) {
  PlanFixture f = fixture();
  int logits = f.tensor({6, 4}), w = f.tensor({6, 4}),
      idx = f.tensor({6, 4}, DType::I32), keep = f.tensor({6, 4}, DType::I1),
      dw = f.tensor({6, 4}), dlogits = f.tensor({6, 4});
  f.op("moe.expert_choice", {logits}, {w, idx, keep}).setInt("capacity", 2);
  f.op("moe.expert_choice_grad", {dw, logits, keep}, {dlogits});
  ASSERT_TRUE(f.prepare().ok());
  auto g = uniform(24, 33, 4.0f);
  f.set(logits, uniform(24, 34, 2.0f));
  f.set(dw, g);
  expectGradient(f, logits, dlogits, {{w, g}}, "logits", {keep});
}

TEST_P(MoeGrad, AuxLossOverTheBatchAndPerSequence) {
  for (bool perSequence : {false, true}) {
    SCOPED_TRACE(perSequence ? "per sequence" : "over the batch");
    PlanFixture f = fixture();
    int logits = f.tensor({6, 4}), idx = f.tensor({6, 2}, DType::I32),
        gradLoss = f.tensor({}), loss = f.tensor({}),
        dlogits = f.tensor({6, 4});
    auto setAttrs = [&](moert::OpInfo &op) {
      op.setFloat("coeff", 10.0);
      if (perSequence)
        op.setInt("seq_length", 3); // 2 sequences: t = 0, 2, 4 and 1, 3, 5
    };
    setAttrs(f.op("moe.aux_loss", {logits, idx}, {loss}));
    setAttrs(f.op("moe.aux_loss_grad", {gradLoss, logits, idx}, {dlogits}));
    ASSERT_TRUE(f.prepare().ok());
    const float g = 3.0f;
    f.set(logits, uniform(24, 35, 2.0f));
    f.set(idx, std::vector<int32_t>{0, 1, 0, 2, 0, 3, 1, 0, 0, 1, 2, 0});
    f.set(gradLoss, std::vector<float>{g});
    expectGradient(f, logits, dlogits, {{loss, {g}}},
                   perSequence ? "sequence_logits" : "batch_logits");
  }
}

TEST_P(MoeGrad, ZLoss) {
  PlanFixture f = fixture();
  int logits = f.tensor({4, 5}), gradLoss = f.tensor({}), loss = f.tensor({}),
      dlogits = f.tensor({4, 5});
  f.op("moe.z_loss", {logits}, {loss}).setFloat("coeff", 2.0);
  f.op("moe.z_loss_grad", {gradLoss, logits}, {dlogits}).setFloat("coeff", 2.0);
  ASSERT_TRUE(f.prepare().ok());
  const float g = 3.0f;
  f.set(logits, uniform(20, 36, 2.0f));
  f.set(gradLoss, std::vector<float>{g});
  expectGradient(f, logits, dlogits, {{loss, {g}}}, "logits");
}

TEST_P(MoeGrad, PermuteWithADroppedPair) {
  // 4 tokens, top-2 over 3 experts; the mask drops token 1's second pair.
  PlanFixture f = fixture();
  int x = f.tensor({4, 3}), idx = f.tensor({4, 2}, DType::I32),
      mask = f.tensor({4, 2}, DType::I1), permuted = f.tensor({8, 3}),
      map = f.tensor({4, 2}, DType::I32), sizes = f.tensor({3}, DType::I32),
      drows = f.tensor({8, 3}), dx = f.tensor({4, 3});
  f.op("moe.permute", {x, idx, mask}, {permuted, map, sizes});
  f.op("moe.permute_grad", {drows, map}, {dx});
  ASSERT_TRUE(f.prepare().ok());
  auto g = uniform(24, 37, 2.0f);
  f.set(x, uniform(12, 38));
  f.set(idx, std::vector<int32_t>{0, 2, 2, 1, 0, 1, 2, 0});
  f.set(mask, std::vector<uint8_t>{1, 1, 1, 0, 1, 1, 1, 1});
  f.set(drows, g);
  expectGradient(f, x, dx, {{permuted, g}}, "input", {map});
}

TEST_P(MoeGrad, PermuteRejectsRowsOutsideTheBuffer) {
  PlanFixture f = fixture();
  int drows = f.tensor({4, 3}), map = f.tensor({2, 2}, DType::I32),
      dx = f.tensor({2, 3});
  f.op("moe.permute_grad", {drows, map}, {dx});
  ASSERT_TRUE(f.prepare().ok());
  f.set(map, std::vector<int32_t>{0, 1, -1, 4});
  Status status = f.run();
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.message(),
            "forward op 0 (moe.permute_grad): row map entry 4 is "
            "outside the 4 rows");
}

TEST_P(MoeGrad, UnpermuteWithADroppedPair) {
  // 4 tokens of top-2 over 8 rows: pair (2, 1) is dropped, row 4 unused.
  PlanFixture f = fixture();
  int rowsT = f.tensor({8, 3}), map = f.tensor({4, 2}, DType::I32),
      w = f.tensor({4, 2}), y = f.tensor({4, 3}), dy = f.tensor({4, 3}),
      drows = f.tensor({8, 3}), dw = f.tensor({4, 2});
  f.op("moe.unpermute", {rowsT, map, w}, {y});
  f.op("moe.unpermute_grad", {dy, rowsT, map, w}, {drows, dw});
  ASSERT_TRUE(f.prepare().ok());
  auto g = uniform(12, 39, 2.0f);
  f.set(rowsT, uniform(24, 40, 2.0f));
  f.set(map, std::vector<int32_t>{0, 3, 5, 1, 2, -1, 7, 6});
  f.set(w, uniform(8, 41));
  f.set(dy, g);
  expectGradient(f, rowsT, drows, {{y, g}}, "rows");
  expectGradient(f, w, dw, {{y, g}}, "weights");
}

TEST_P(MoeGrad, GroupedMatmulWithAnEmptyGroup) {
  // 3 experts over 7 rows: groups of 3, 0 and 2 rows, then 2 unused rows.
  PlanFixture f = fixture();
  int rowsT = f.tensor({7, 3}), w = f.tensor({3, 4, 3}),
      sizes = f.tensor({3}, DType::I32), y = f.tensor({7, 4}),
      dy = f.tensor({7, 4}), drows = f.tensor({7, 3}), dw = f.tensor({3, 4, 3});
  f.op("moe.grouped_matmul", {rowsT, w, sizes}, {y});
  f.op("moe.grouped_matmul_grad_input", {dy, w, sizes}, {drows});
  f.op("moe.grouped_matmul_grad_weight", {dy, rowsT, sizes}, {dw});
  ASSERT_TRUE(f.prepare().ok());
  auto g = uniform(28, 42, 2.0f);
  f.set(rowsT, uniform(21, 43));
  f.set(w, uniform(36, 44));
  f.set(sizes, std::vector<int32_t>{3, 0, 2});
  f.set(dy, g);
  expectGradient(f, rowsT, drows, {{y, g}}, "rows");
  expectGradient(f, w, dw, {{y, g}}, "weight");
}
