//===- PlanFixture.h - small plans on every backend -------------*- C++ -*-===//
//
// The kernel tests form a conformance suite: each case builds a small plan,
// runs it on a device through the Device interface and reads tensors back,
// once per backend of the build (moert::backends()). A backend that cannot
// run on this machine reports its cases as skipped, with the reason.
//
//===----------------------------------------------------------------------===//

#ifndef MOERT_TEST_PLANFIXTURE_H
#define MOERT_TEST_PLANFIXTURE_H

#include "moert/Device.h"
#include "moert/PlanNames.h"

#include <gtest/gtest.h>

#include <cstring>

namespace moert::testing {

/// Builds a plan of activations laid out one after another, runs it on one
/// backend, and reads tensors back.
class PlanFixture {
public:
  explicit PlanFixture(std::string backend) : backend(std::move(backend)) {
    plan.training.seqLength = 1;
    plan.training.microBatchSize = 1;
    plan.training.globalBatchSize = 1;
    plan.model.vocabSize = 1;
    plan.programs.push_back({names::forward, 0, {}, {}, {}});
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

  /// Appends an op; the reference is valid until the next op is added.
  OpInfo &op(std::string kernel, std::vector<int> inputs,
             std::vector<int> outputs) {
    std::vector<OpInfo> &ops = plan.programs[0].ops;
    ops.push_back({std::move(kernel), std::move(inputs), std::move(outputs)});
    return ops.back();
  }

  /// Checks the ops against their signatures, as loading a plan does, and
  /// creates the device; a failure of either is returned.
  Status prepare() {
    MOERT_RETURN_IF_ERROR(verifyOps(plan));
    StatusOr<std::unique_ptr<Device>> created =
        createDevice(backend, plan, *comm);
    if (!created.ok())
      return created.status();
    device = std::move(created.value());
    return Status();
  }

  /// Runs the plan's program.
  Status run() { return device->run(names::forward); }

  template <typename T> void set(int index, const std::vector<T> &values) {
    Status status = device->write(index, values);
    ASSERT_TRUE(status.ok()) << status.message();
  }
  template <typename T> std::vector<T> get(int index) {
    StatusOr<std::vector<T>> values = device->read<T>(index);
    EXPECT_TRUE(values.ok()) << values.status().message();
    return values.ok() ? *values : std::vector<T>();
  }

  std::string backend;
  Plan plan;
  std::unique_ptr<Communicator> comm = createLocalCommunicator();
  std::unique_ptr<Device> device;
};

/// A conformance case, run once per backend of the build.
class BackendTest : public ::testing::TestWithParam<std::string> {
protected:
  void SetUp() override {
    for (const Backend &b : backends())
      if (b.name == GetParam())
        if (std::string why = b.unavailable(); !why.empty())
          GTEST_SKIP() << "the " << b.name
                       << " backend cannot run here: " << why;
  }

  /// A plan for this case's backend.
  PlanFixture fixture() const { return PlanFixture(GetParam()); }
};

/// The names of the backends of this build.
std::vector<std::string> backendNames();

} // namespace moert::testing

/// Runs the cases of the BackendTest subclass `suite` on every backend.
#define MOERT_INSTANTIATE_ON_BACKENDS(suite)                                   \
  INSTANTIATE_TEST_SUITE_P(                                                    \
      Backends, suite, ::testing::ValuesIn(moert::testing::backendNames()),    \
      [](const ::testing::TestParamInfo<std::string> &info) {                  \
        return info.param;                                                     \
      })

#endif // MOERT_TEST_PLANFIXTURE_H
