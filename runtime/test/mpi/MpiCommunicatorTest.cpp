//===- MpiCommunicatorTest.cpp - the MPI collectives under mpirun ---------===//
//
// Runs under `mpirun -np 4`: every rank runs every test, for each expert
// parallelism that divides the world, and checks what it receives against
// what the members it names have sent.
//
//===----------------------------------------------------------------------===//

#include "moert/Communicator.h"

#include <gtest/gtest.h>

#include <numeric>

namespace moert {
namespace {

class MpiCommunicatorTest : public ::testing::TestWithParam<int> {
protected:
  void SetUp() override {
    StatusOr<std::unique_ptr<Communicator>> created =
        createMpiCommunicator(GetParam());
    ASSERT_TRUE(created.ok()) << created.status().message();
    comm = std::move(*created);
  }
  std::unique_ptr<Communicator> comm;
};

constexpr Group allGroups[] = {Group::World, Group::DP, Group::EP, Group::EDP};

TEST_P(MpiCommunicatorTest, GroupsFollowTheLayout) {
  auto layout = groupLayout(comm->rank(), comm->worldSize(), GetParam());
  ASSERT_TRUE(layout.ok());
  for (Group g : allGroups) {
    EXPECT_EQ(comm->group(g).ranks, (*layout)[static_cast<int>(g)].ranks)
        << groupName(g);
    EXPECT_EQ(comm->group(g).index, (*layout)[static_cast<int>(g)].index);
  }
  EXPECT_EQ(comm->expertParallelSize(), GetParam());
}

TEST_P(MpiCommunicatorTest, AllReduceSumsMeansAndMaxesOverEachGroup) {
  for (Group g : allGroups) {
    const GroupMembers &members = comm->group(g);
    std::vector<float> sum = {float(comm->rank() + 1), -2.5f * comm->rank()};
    std::vector<float> mean = sum, max = sum;
    std::vector<int32_t> ints = {comm->rank() * 10, 7};
    ASSERT_TRUE(
        comm->allReduce(g, DType::F32, sum.data(), 2, Reduction::Sum).ok());
    ASSERT_TRUE(
        comm->allReduce(g, DType::F32, mean.data(), 2, Reduction::Mean).ok());
    ASSERT_TRUE(
        comm->allReduce(g, DType::F32, max.data(), 2, Reduction::Max).ok());
    ASSERT_TRUE(
        comm->allReduce(g, DType::I32, ints.data(), 2, Reduction::Sum).ok());
    float expected0 = 0, expected1 = 0, max0 = 0;
    int32_t int0 = 0;
    for (int r : members.ranks) {
      expected0 += r + 1;
      expected1 += -2.5f * r;
      max0 = std::max<float>(max0, r + 1);
      int0 += r * 10;
    }
    EXPECT_EQ(sum[0], expected0) << groupName(g);
    EXPECT_EQ(sum[1], expected1) << groupName(g);
    EXPECT_FLOAT_EQ(mean[0], expected0 / members.size()) << groupName(g);
    EXPECT_EQ(max[0], max0) << groupName(g);
    EXPECT_EQ(ints[0], int0) << groupName(g);
    EXPECT_EQ(ints[1], 7 * members.size()) << groupName(g);
  }
  int32_t value = 1;
  EXPECT_FALSE(
      comm->allReduce(Group::World, DType::I32, &value, 1, Reduction::Mean)
          .ok());
}

TEST_P(MpiCommunicatorTest, AllGatherStacksInGroupOrder) {
  for (Group g : allGroups) {
    const GroupMembers &members = comm->group(g);
    int32_t mine[2] = {comm->rank(), -comm->rank()};
    std::vector<int32_t> all(2 * members.size());
    ASSERT_TRUE(comm->allGather(g, mine, all.data(), sizeof(mine)).ok());
    for (int j = 0; j < members.size(); ++j) {
      EXPECT_EQ(all[2 * j], members.ranks[j]) << groupName(g);
      EXPECT_EQ(all[2 * j + 1], -members.ranks[j]) << groupName(g);
    }
  }
}

TEST_P(MpiCommunicatorTest, ReduceScatterKeepsThisMembersSlice) {
  for (Group g : allGroups) {
    const GroupMembers &members = comm->group(g);
    // Member p contributes value p * 100 + i at position i.
    std::vector<float> input(2 * members.size());
    std::iota(input.begin(), input.end(), 100.0f * members.index);
    float output[2];
    ASSERT_TRUE(comm->reduceScatter(g, DType::F32, input.data(), output, 2,
                                    Reduction::Sum)
                    .ok());
    for (int i = 0; i < 2; ++i) {
      float expected = 0;
      for (int p = 0; p < members.size(); ++p)
        expected += 100.0f * p + 2 * members.index + i;
      EXPECT_EQ(output[i], expected) << groupName(g);
    }
  }
}

/// Member p sends p + j + 1 rows to member j; a row holds (sender's world
/// rank, receiver's position, row number).
TEST_P(MpiCommunicatorTest, AllToAllVMovesRaggedRows) {
  for (Group g : allGroups) {
    const GroupMembers &members = comm->group(g);
    int n = members.size(), p = members.index;
    std::vector<int64_t> sendRows(n), recvRows(n, -1);
    std::vector<int32_t> input;
    for (int j = 0; j < n; ++j) {
      sendRows[j] = p + j + 1;
      for (int row = 0; row < sendRows[j]; ++row)
        input.insert(input.end(), {comm->rank(), j, row});
    }
    int64_t capacity = 0;
    for (int j = 0; j < n; ++j)
      capacity += j + p + 1;
    std::vector<int32_t> output(3 * capacity, -7);
    ASSERT_TRUE(comm->allToAllV(g, input.data(), sendRows.data(), output.data(),
                                capacity, 3 * sizeof(int32_t), recvRows.data())
                    .ok());
    size_t at = 0;
    for (int j = 0; j < n; ++j) {
      EXPECT_EQ(recvRows[j], j + p + 1) << groupName(g);
      for (int row = 0; row < recvRows[j]; ++row, at += 3) {
        EXPECT_EQ(output[at], members.ranks[j]) << groupName(g);
        EXPECT_EQ(output[at + 1], p) << groupName(g);
        EXPECT_EQ(output[at + 2], row) << groupName(g);
      }
    }
  }
}

/// One member's buffer is too small: every member gets the error, none
/// waits for rows that never come.
TEST_P(MpiCommunicatorTest, AllToAllVOverflowFailsOnEveryMember) {
  const GroupMembers &members = comm->group(Group::World);
  int n = members.size();
  std::vector<int64_t> sendRows(n, 2), recvRows(n);
  std::vector<float> input(2 * n, 1.0f), output(2 * n);
  int64_t capacity = comm->rank() == n - 1 ? 2 * n - 1 : 2 * n;
  Status status =
      comm->allToAllV(Group::World, input.data(), sendRows.data(),
                      output.data(), capacity, sizeof(float), recvRows.data());
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("all-to-all over the world group"),
            std::string::npos)
      << status.message();
  EXPECT_TRUE(comm->barrier(Group::World).ok());
}

INSTANTIATE_TEST_SUITE_P(ExpertParallel, MpiCommunicatorTest,
                         ::testing::Values(1, 2, 4), [](const auto &info) {
                           return "ep" + std::to_string(info.param);
                         });

TEST(MpiLaunch, RefusesAnExpertParallelismThatDoesNotDivideTheWorld) {
  StatusOr<std::unique_ptr<Communicator>> created = createMpiCommunicator(3);
  ASSERT_FALSE(created.ok());
  EXPECT_NE(created.status().message().find(
                "expert parallelism 3 does not divide the world of 4 ranks"),
            std::string::npos)
      << created.status().message();
}

} // namespace
} // namespace moert
