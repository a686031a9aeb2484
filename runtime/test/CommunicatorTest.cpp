//===- CommunicatorTest.cpp - process groups and the one-rank collectives -===//

#include "moert/Communicator.h"

#include <gtest/gtest.h>

#include <set>

using namespace moert;

namespace {

std::array<GroupMembers, numGroups> layout(int rank, int world, int ep) {
  StatusOr<std::array<GroupMembers, numGroups>> groups =
      groupLayout(rank, world, ep);
  EXPECT_TRUE(groups.ok()) << groups.status().message();
  return groups.ok() ? *groups : std::array<GroupMembers, numGroups>{};
}

const GroupMembers &group(const std::array<GroupMembers, numGroups> &groups,
                          Group g) {
  return groups[static_cast<int>(g)];
}

} // namespace

TEST(GroupLayout, ExpertParallelGroupsAreConsecutiveRanks) {
  // 8 ranks, ep 2: rank 5 splits the experts with rank 4 and shares its
  // experts with ranks 1, 3 and 7.
  auto groups = layout(5, 8, 2);
  EXPECT_EQ(group(groups, Group::EP).ranks, (std::vector<int>{4, 5}));
  EXPECT_EQ(group(groups, Group::EP).index, 1);
  EXPECT_EQ(group(groups, Group::EDP).ranks, (std::vector<int>{1, 3, 5, 7}));
  EXPECT_EQ(group(groups, Group::EDP).index, 2);
  EXPECT_EQ(group(groups, Group::DP).size(), 8);
  EXPECT_EQ(group(groups, Group::World).index, 5);

  groups = layout(6, 8, 4);
  EXPECT_EQ(group(groups, Group::EP).ranks, (std::vector<int>{4, 5, 6, 7}));
  EXPECT_EQ(group(groups, Group::EDP).ranks, (std::vector<int>{2, 6}));
}

TEST(GroupLayout, EveryRankIsInOneGroupOfEachKind) {
  for (int world : {1, 2, 4, 6, 8, 16})
    for (int ep = 1; ep <= world; ++ep) {
      if (world % ep)
        continue;
      std::set<std::vector<int>> epGroups, edpGroups;
      for (int rank = 0; rank < world; ++rank) {
        auto groups = layout(rank, world, ep);
        const GroupMembers &epGroup = group(groups, Group::EP);
        const GroupMembers &edpGroup = group(groups, Group::EDP);
        ASSERT_EQ(epGroup.ranks[epGroup.index], rank);
        ASSERT_EQ(edpGroup.ranks[edpGroup.index], rank);
        EXPECT_EQ(epGroup.size(), ep);
        EXPECT_EQ(epGroup.size() * edpGroup.size(), world);
        // The two groups meet in this rank only.
        int shared = 0;
        for (int r : epGroup.ranks)
          for (int s : edpGroup.ranks)
            shared += r == s;
        EXPECT_EQ(shared, 1) << "world " << world << ", ep " << ep;
        epGroups.insert(epGroup.ranks);
        edpGroups.insert(edpGroup.ranks);
      }
      EXPECT_EQ(static_cast<int>(epGroups.size()), world / ep);
      EXPECT_EQ(static_cast<int>(edpGroups.size()), ep);
    }
}

TEST(GroupLayout, ImpossibleLayoutsAreErrors) {
  EXPECT_EQ(groupLayout(0, 8, 3).status().message(),
            "expert parallelism 3 does not divide the world of 8 ranks");
  EXPECT_EQ(groupLayout(8, 8, 2).status().message(),
            "rank 8 is not a rank of a world of 8");
  EXPECT_FALSE(groupLayout(0, 4, 0).ok());
}

TEST(LocalCommunicator, EveryGroupHoldsTheOneRank) {
  std::unique_ptr<Communicator> comm = createLocalCommunicator();
  EXPECT_EQ(comm->rank(), 0);
  EXPECT_EQ(comm->worldSize(), 1);
  EXPECT_EQ(comm->expertParallelSize(), 1);
  for (Group g : {Group::DP, Group::EP, Group::EDP, Group::World})
    EXPECT_EQ(comm->group(g).ranks, (std::vector<int>{0})) << groupName(g);
}

TEST(LocalCommunicator, CollectivesReturnTheRanksOwnData) {
  std::unique_ptr<Communicator> comm = createLocalCommunicator();
  std::vector<float> in = {1, 2, 3, 4}, out(4);
  ASSERT_TRUE(comm->allGather(Group::EP, in.data(), out.data(), 16).ok());
  EXPECT_EQ(out, in);
  out.assign(4, 0);
  ASSERT_TRUE(comm->reduceScatter(Group::DP, DType::F32, in.data(), out.data(),
                                  4, Reduction::Sum)
                  .ok());
  EXPECT_EQ(out, in);
  ASSERT_TRUE(
      comm->allReduce(Group::World, DType::F32, in.data(), 4, Reduction::Mean)
          .ok());
  EXPECT_EQ(in, (std::vector<float>{1, 2, 3, 4}));
  EXPECT_EQ(
      comm->allReduce(Group::EDP, DType::I32, in.data(), 4, Reduction::Mean)
          .message(),
      "a mean reduces only f32 values");
  EXPECT_TRUE(comm->barrier(Group::World).ok());
}

TEST(LocalCommunicator, AllToAllSendsTheRowsToItself) {
  std::unique_ptr<Communicator> comm = createLocalCommunicator();
  std::vector<int32_t> in = {1, 2, 3, 4, 5, 6}, out(8, -1);
  int64_t send = 2, received = -1;
  // Two rows of 3 values into a buffer of at most 2 rows.
  ASSERT_TRUE(
      comm->allToAllV(Group::EP, in.data(), &send, out.data(), 2, 12, &received)
          .ok());
  EXPECT_EQ(received, 2);
  EXPECT_EQ(std::vector<int32_t>(out.begin(), out.begin() + 6), in);
  send = 3;
  EXPECT_EQ(
      comm->allToAllV(Group::EP, in.data(), &send, out.data(), 2, 12, &received)
          .message(),
      "all-to-all: 3 rows arrive for a buffer of 2");
}

TEST(LocalCommunicator, AnAbortFailsEveryLaterCollective) {
  std::unique_ptr<Communicator> comm = createLocalCommunicator();
  comm->abort("rank 3 ran out of memory");
  float value = 1;
  EXPECT_EQ(comm->allReduce(Group::World, DType::F32, &value, 1, Reduction::Sum)
                .message(),
            "the communicator was aborted: rank 3 ran out of memory");
  EXPECT_FALSE(comm->barrier(Group::World).ok());
}
