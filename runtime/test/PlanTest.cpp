//===- PlanTest.cpp - a bad plan is a clear error, never a crash ----------===//

#include "moert/Plan.h"

#include "plan_generated.h"

#include <gtest/gtest.h>

using namespace moert;

namespace {

struct PlanOptions {
  uint32_t version = planVersion();
  int outputIndex = 1;
  int64_t arenaBytes = 64;
};

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
      plan::CreateOpDirect(b, "nn.add", &inputs, &outputs)};
  std::vector<flatbuffers::Offset<plan::Program>> programs = {
      plan::CreateProgramDirect(b, "forward", options.arenaBytes, &ops)};
  auto model = plan::CreateModelDirect(b, 4, 1, 16, 0.02, 1, 1, 0, "{}");
  auto root = plan::CreatePlanDirect(b, options.version, &tensors, &programs,
                                     nullptr, nullptr, nullptr, model);
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

TEST(Plan, AnotherVersionIsRejectedWithAHint) {
  PlanOptions old;
  old.version = planVersion() - 1;
  EXPECT_EQ(errorOf(buildPlan(old)),
            "model.plan: plan version " + std::to_string(old.version) +
                " cannot be run by this runtime, which reads version " +
                std::to_string(planVersion()) +
                "; recompile it with moe-compile");
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

TEST(Plan, InputsMustMatchTheMicroBatch) {
  // The model says 4 tokens per micro-batch; a 3-token "tokens" input would
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
  auto model = plan::CreateModelDirect(b, 4, 1, 16, 0.02, 1, 1, 0, "{}");
  auto root = plan::CreatePlanDirect(b, planVersion(), &tensors, &programs,
                                     &inputs, nullptr, nullptr, model);
  plan::FinishPlanBuffer(b, root);
  std::vector<uint8_t> bytes(b.GetBufferPointer(),
                             b.GetBufferPointer() + b.GetSize());
  EXPECT_EQ(errorOf(bytes),
            "model.plan: 'tokens' is tensor<3xi32>, expected tensor<4xi32>");
}

TEST(Plan, APlanNeedsAProgram) {
  flatbuffers::FlatBufferBuilder b;
  std::vector<flatbuffers::Offset<plan::Tensor>> tensors;
  auto model = plan::CreateModelDirect(b, 4, 1, 16, 0.02, 1, 1, 0, "{}");
  plan::FinishPlanBuffer(b, plan::CreatePlanDirect(b, planVersion(), &tensors,
                                                   nullptr, nullptr, nullptr,
                                                   nullptr, model));
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
