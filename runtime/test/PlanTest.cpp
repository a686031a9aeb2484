//===- PlanTest.cpp - a bad plan is a clear error, never a crash ----------===//

#include "moert/Plan.h"

#include "plan_generated.h"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

using namespace moert;

namespace {

struct PlanOptions {
  uint32_t version = planVersion();
  int outputIndex = 1;
  int64_t arenaBytes = 64;
  const char *kernel = "nn.add";
  int64_t globalBatchSize = 2;
  int64_t microBatches = 2;
  bool training = true;
};

flatbuffers::Offset<plan::Model> model(flatbuffers::FlatBufferBuilder &b) {
  return plan::CreateModelDirect(b, 16, 0.02, 1, 1, 0, "{}");
}

/// 4 tokens a micro-batch: sequences of 4, one a micro-batch.
flatbuffers::Offset<plan::Training> training(flatbuffers::FlatBufferBuilder &b,
                                             const PlanOptions &options = {}) {
  return plan::CreateTrainingDirect(b, 4, 1, options.globalBatchSize,
                                    options.microBatches);
}

/// A one-op plan: y = x + x over two f32[4] activations.
std::vector<uint8_t> buildPlan(const PlanOptions &options = {}) {
  flatbuffers::FlatBufferBuilder b;
  std::vector<int64_t> shape = {4};
  std::vector<flatbuffers::Offset<plan::Tensor>> tensors = {
      plan::CreateTensorDirect(b, "x", plan::DType::F32, &shape,
                               plan::TensorKind::Input, 0),
      plan::CreateTensorDirect(b, "y", plan::DType::F32, &shape,
                               plan::TensorKind::Activation, 0)};
  std::vector<int> inputs = {0, 0}, outputs = {options.outputIndex};
  std::vector<flatbuffers::Offset<plan::Op>> ops = {
      plan::CreateOpDirect(b, options.kernel, &inputs, &outputs)};
  std::vector<flatbuffers::Offset<plan::Program>> programs = {
      plan::CreateProgramDirect(b, "forward", options.arenaBytes, &ops)};
  auto root = plan::CreatePlanDirect(
      b, options.version, &tensors, &programs, nullptr, nullptr, nullptr,
      model(b), options.training ? training(b, options) : 0);
  plan::FinishPlanBuffer(b, root);
  return {b.GetBufferPointer(), b.GetBufferPointer() + b.GetSize()};
}

std::string errorOf(const std::vector<uint8_t> &bytes) {
  StatusOr<Plan> plan = parsePlan(bytes, "model.plan");
  return plan.ok() ? "" : plan.status().message();
}

} // namespace

TEST(Plan, AValidPlanLoads) {
  StatusOr<Plan> plan = parsePlan(buildPlan(), "model.plan");
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  ASSERT_NE(plan->program("forward"), nullptr);
  EXPECT_EQ(plan->program("forward")->ops.size(), 1u);
  EXPECT_EQ(plan->tensors[1].typeString(), "tensor<4xf32>");
  EXPECT_EQ(plan->training.tokensPerMicroBatch(), 4);
  EXPECT_EQ(plan->training.microBatches, 2);
}

TEST(Plan, SomethingElseIsNotAPlan) {
  std::vector<uint8_t> bytes = buildPlan();
  bytes[4] = 'X';
  EXPECT_EQ(errorOf(bytes),
            "model.plan: not a moe-compile plan (no 'MOEP' identifier)");
  EXPECT_EQ(errorOf({1, 2, 3}),
            "model.plan: not a moe-compile plan (no 'MOEP' identifier)");
}

TEST(Plan, TruncatedPlansAreRejected) {
  std::vector<uint8_t> bytes = buildPlan();
  for (size_t keep : {bytes.size() / 2, bytes.size() - 8, size_t(12)}) {
    std::vector<uint8_t> cut(bytes.begin(), bytes.begin() + keep);
    EXPECT_EQ(errorOf(cut), "model.plan: the plan is truncated or corrupt")
        << keep << " bytes";
  }
}

TEST(Plan, ANewerVersionIsRejectedWithAHint) {
  PlanOptions newer;
  newer.version = planVersion() + 1;
  EXPECT_EQ(errorOf(buildPlan(newer)),
            "model.plan: plan version " + std::to_string(newer.version) +
                " cannot be run by this runtime, which reads version " +
                std::to_string(planVersion()) +
                "; recompile it with moe-compile");
}

// Inputs/plan-v2.plan is a real plan of the previous format (version 2,
// untyped attributes, no training table), written by moe-compile from
//   --num-layers 1 --hidden-size 8 --num-attention-heads 2 --seq-length 4
//   --micro-batch-size 1 --vocab-size 16 --num-experts 2 --moe-router-topk 1
// Its tables do not match this schema, but its version still reads.
TEST(Plan, AnOlderPlanNamesBothVersions) {
  std::ifstream file(MOERT_TEST_INPUTS "/plan-v2.plan", std::ios::binary);
  ASSERT_TRUE(file) << "missing test input plan-v2.plan";
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(file)),
                             std::istreambuf_iterator<char>());
  EXPECT_EQ(errorOf(bytes),
            "model.plan: plan version 2 cannot be run by this runtime, which "
            "reads version 4; recompile it with moe-compile");
}

TEST(Plan, IndicesOutOfRangeAreRejected) {
  PlanOptions bad;
  bad.outputIndex = 7;
  EXPECT_EQ(
      errorOf(buildPlan(bad)),
      "model.plan: forward op 0 (nn.add) refers to tensor 7, but the plan "
      "has 2");
}

TEST(Plan, ActivationsMustFitTheArena) {
  PlanOptions small;
  small.arenaBytes = 8;
  EXPECT_EQ(errorOf(buildPlan(small)),
            "model.plan: tensor 1 (y, 16 bytes at offset 0) does not fit the "
            "arena of 8 bytes");
}

TEST(Plan, OpsAreCheckedAgainstTheirSignatures) {
  PlanOptions unknown;
  unknown.kernel = "nn.frobnicate";
  EXPECT_EQ(errorOf(buildPlan(unknown)),
            "model.plan: forward op 0: unknown op 'nn.frobnicate'");
  PlanOptions norm;
  norm.kernel = "nn.rmsnorm";
  EXPECT_EQ(errorOf(buildPlan(norm)),
            "model.plan: forward op 0: op nn.rmsnorm: input must be a rank-2 "
            "f32 tensor, got tensor<4xf32>");
}

TEST(Plan, AttributesHaveTheKindOfTheirSignature) {
  // An rmsnorm whose eps is an int: read as a float, it would be garbage.
  flatbuffers::FlatBufferBuilder b;
  std::vector<int64_t> matrix = {2, 4}, vector = {4};
  std::vector<flatbuffers::Offset<plan::Tensor>> tensors = {
      plan::CreateTensorDirect(b, "x", plan::DType::F32, &matrix,
                               plan::TensorKind::Input, 0),
      plan::CreateTensorDirect(b, "w", plan::DType::F32, &vector,
                               plan::TensorKind::Parameter, 0),
      plan::CreateTensorDirect(b, "y", plan::DType::F32, &matrix,
                               plan::TensorKind::Activation, 0)};
  std::vector<int> inputs = {0, 1}, outputs = {2};
  std::vector<flatbuffers::Offset<plan::Attr>> attrs = {
      plan::CreateAttr(b, b.CreateString("eps"), plan::AttrValue::IntAttr,
                       plan::CreateIntAttr(b, 1).Union())};
  std::vector<flatbuffers::Offset<plan::Op>> ops = {
      plan::CreateOpDirect(b, "nn.rmsnorm", &inputs, &outputs, &attrs)};
  std::vector<flatbuffers::Offset<plan::Program>> programs = {
      plan::CreateProgramDirect(b, "forward", 32, &ops)};
  plan::FinishPlanBuffer(
      b, plan::CreatePlanDirect(b, planVersion(), &tensors, &programs, nullptr,
                                nullptr, nullptr, model(b), training(b)));
  std::vector<uint8_t> bytes(b.GetBufferPointer(),
                             b.GetBufferPointer() + b.GetSize());
  EXPECT_EQ(errorOf(bytes), "model.plan: forward op 0: op nn.rmsnorm: "
                            "attribute 'eps' must be a float, got int");
}

TEST(Plan, TheTrainingSettingsMustAddUp) {
  PlanOptions none;
  none.training = false;
  EXPECT_EQ(errorOf(buildPlan(none)),
            "model.plan: the plan has no training settings");
  PlanOptions uneven;
  uneven.globalBatchSize = 3;
  EXPECT_EQ(errorOf(buildPlan(uneven)),
            "model.plan: the training settings split a global batch of 3 into "
            "2 micro-batches of 1 per rank");
}

TEST(Plan, InputsMustMatchTheMicroBatch) {
  // The plan says 4 tokens per micro-batch; a 3-token "tokens" input would
  // let the runtime write past it.
  flatbuffers::FlatBufferBuilder b;
  std::vector<int64_t> shape = {3};
  std::vector<flatbuffers::Offset<plan::Tensor>> tensors = {
      plan::CreateTensorDirect(b, "tokens", plan::DType::I32, &shape,
                               plan::TensorKind::Input, 0)};
  std::vector<flatbuffers::Offset<plan::NamedTensor>> inputs = {
      plan::CreateNamedTensorDirect(b, "tokens", 0)};
  std::vector<flatbuffers::Offset<plan::Program>> programs = {
      plan::CreateProgramDirect(b, "forward")};
  auto root =
      plan::CreatePlanDirect(b, planVersion(), &tensors, &programs, &inputs,
                             nullptr, nullptr, model(b), training(b));
  plan::FinishPlanBuffer(b, root);
  std::vector<uint8_t> bytes(b.GetBufferPointer(),
                             b.GetBufferPointer() + b.GetSize());
  EXPECT_EQ(errorOf(bytes),
            "model.plan: 'tokens' is tensor<3xi32>, expected tensor<4xi32>");
}

TEST(Plan, APlanNeedsAProgram) {
  flatbuffers::FlatBufferBuilder b;
  std::vector<flatbuffers::Offset<plan::Tensor>> tensors;
  plan::FinishPlanBuffer(
      b, plan::CreatePlanDirect(b, planVersion(), &tensors, nullptr, nullptr,
                                nullptr, nullptr, model(b), training(b)));
  std::vector<uint8_t> bytes(b.GetBufferPointer(),
                             b.GetBufferPointer() + b.GetSize());
  EXPECT_EQ(errorOf(bytes), "model.plan: the plan has no program");
}

TEST(Plan, AMissingFileIsAnError) {
  StatusOr<Plan> plan = loadPlan("/nonexistent/model.plan");
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.status().message(),
            "/nonexistent/model.plan: cannot open the plan");
}
