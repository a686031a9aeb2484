//===- PlanFixture.h - building small plans in tests ------------*- C++ -*-===//

#ifndef MOERT_TEST_PLANFIXTURE_H
#define MOERT_TEST_PLANFIXTURE_H

#include "moert/cpu/Executor.h"

#include <gtest/gtest.h>

#include <cstring>

namespace moert::testing {

/// Builds a plan of activations laid out one after another, runs it, and
/// reads tensors back.
class PlanFixture {
public:
  PlanFixture() {
    plan.model.seqLength = 1;
    plan.model.microBatchSize = 1;
    plan.model.vocabSize = 1;
    plan.programs.push_back({"forward", 0, {}, {}, {}});
  }

  int tensor(std::vector<int64_t> shape, DType dtype = DType::F32) {
    TensorInfo t;
    t.name = "t" + std::to_string(plan.tensors.size());
    t.dtype = dtype;
    t.shape = std::move(shape);
    t.offset = plan.arenaBytes;
    plan.arenaBytes += (t.numBytes() + 7) / 8 * 8;
    plan.programs[0].arenaBytes = plan.arenaBytes;
    plan.tensors.push_back(t);
    return static_cast<int>(plan.tensors.size() - 1);
  }

  OpInfo &op(std::string kernel, std::vector<int> inputs,
             std::vector<int> outputs) {
    std::vector<OpInfo> &ops = plan.programs[0].ops;
    ops.push_back(
        {std::move(kernel), std::move(inputs), std::move(outputs), {}, {}});
    return ops.back();
  }

  /// Creates the executor; a failure to check the plan is returned.
  Status prepare() {
    StatusOr<std::unique_ptr<cpu::Executor>> created =
        cpu::Executor::create(plan);
    if (!created.ok())
      return created.status();
    executor = std::move(created.value());
    return Status();
  }

  template <typename T> void set(int index, const std::vector<T> &values) {
    ASSERT_EQ(values.size() * sizeof(T),
              static_cast<size_t>(plan.tensors[index].numBytes()));
    std::memcpy(executor->data(index), values.data(),
                values.size() * sizeof(T));
  }
  template <typename T> std::vector<T> get(int index) {
    std::vector<T> values(plan.tensors[index].numBytes() / sizeof(T));
    std::memcpy(values.data(), executor->data(index),
                values.size() * sizeof(T));
    return values;
  }

  Plan plan;
  std::unique_ptr<cpu::Executor> executor;
};

} // namespace moert::testing

#endif // MOERT_TEST_PLANFIXTURE_H
