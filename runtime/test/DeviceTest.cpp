//===- DeviceTest.cpp - the backend registry and the device interface -----===//

#include "PlanFixture.h"

#include "moert/OpSignatures.h"

using namespace moert;
using moert::testing::PlanFixture;

TEST(Backends, AutoPicksABackendThatCanRunHere) {
  PlanFixture f("auto");
  int x = f.tensor({2}), y = f.tensor({2});
  f.op("nn.add", {x, x}, {y});
  Status status = f.prepare();
  ASSERT_TRUE(status.ok()) << status.message();
  std::string chosen = f.device->backend();
  bool listed = false;
  for (const Backend &backend : backends())
    listed |= chosen == backend.name && backend.unavailable().empty();
  EXPECT_TRUE(listed) << chosen;
}

TEST(Backends, AnUnknownBackendIsNamed) {
  PlanFixture f("tpu");
  int x = f.tensor({2}), y = f.tensor({2});
  f.op("nn.add", {x, x}, {y});
  std::string known;
  for (const Backend &backend : backends())
    known += (known.empty() ? "" : ", ") + std::string(backend.name);
  EXPECT_EQ(f.prepare().message(),
            "unknown device 'tpu'; this build has " + known);
}

// Every op kind a plan may hold runs on every backend that can run here.
// Creating a device looks up the kernels only, so one op of each kind with
// no operands is enough.
class Kernels : public moert::testing::BackendTest {};
MOERT_INSTANTIATE_ON_BACKENDS(Kernels);

TEST_P(Kernels, EveryOpKindHasAKernel) {
  PlanFixture f = fixture();
  // A device checks the collectives' groups against the launch: the world
  // group of one, named by every op.
  for (const OpSignature &signature : opSignatures())
    f.op(std::string(signature.name), {}, {})
        .setInt("group", 3)
        .setInt("size", 1);
  StatusOr<std::unique_ptr<Device>> device =
      createDevice(GetParam(), f.plan, *f.comm);
  EXPECT_TRUE(device.ok()) << device.status().message();

  PlanFixture g = fixture();
  g.op("nn.frobnicate", {}, {});
  EXPECT_EQ(createDevice(GetParam(), g.plan, *g.comm).status().message(),
            "forward op 0: the " + GetParam() +
                " backend has no kernel for 'nn.frobnicate'");
}

TEST_P(Kernels, TensorsMoveByIndexAndByName) {
  PlanFixture f = fixture();
  int tokens = f.tensor({3}, DType::I32);
  f.plan.tensors[tokens].kind = TensorKind::Input;
  f.plan.inputs[names::tokens] = tokens;
  ASSERT_TRUE(f.prepare().ok());
  std::vector<int32_t> values = {4, 5, 6};
  ASSERT_TRUE(f.device->write(names::tokens, values.data()).ok());
  EXPECT_EQ(f.get<int32_t>(tokens), values);
  ASSERT_TRUE(f.device->zero(tokens).ok());
  EXPECT_EQ(f.get<int32_t>(tokens), (std::vector<int32_t>{0, 0, 0}));
  EXPECT_EQ(f.device->write(tokens, std::vector<int32_t>{1, 2}).message(),
            "t0 (tensor<3xi32>) takes 12 bytes, not 8");
  int32_t unused[3];
  EXPECT_EQ(f.device->read("labels", unused).message(),
            "the plan has no tensor 'labels'");
}
