//===- Groups.cpp - the process groups of a launch ------------------------===//

#include "moert/Communicator.h"
#include "moert/OpSignatures.h"

#include <fmt/format.h>

#include <cstdlib>

namespace moert {

const char *groupName(Group group) {
  switch (group) {
  case Group::DP:
    return "dp";
  case Group::EP:
    return "ep";
  case Group::EDP:
    return "edp";
  case Group::World:
    return "world";
  }
  return "?";
}

StatusOr<std::array<GroupMembers, numGroups>>
groupLayout(int rank, int worldSize, int ep) {
  if (worldSize < 1 || rank < 0 || rank >= worldSize)
    return Status::error(
        fmt::format("rank {} is not a rank of a world of {}", rank, worldSize));
  if (ep < 1 || worldSize % ep != 0)
    return Status::error(fmt::format(
        "expert parallelism {} does not divide the world of {} ranks", ep,
        worldSize));
  std::array<GroupMembers, numGroups> groups;
  auto add = [&](Group group, int member) {
    GroupMembers &g = groups[static_cast<int>(group)];
    if (member == rank)
      g.index = g.size();
    g.ranks.push_back(member);
  };
  int firstOfEp = rank / ep * ep;
  for (int r = 0; r < worldSize; ++r) {
    add(Group::World, r);
    add(Group::DP, r);
    if (r / ep * ep == firstOfEp)
      add(Group::EP, r);
    if (r % ep == rank % ep)
      add(Group::EDP, r);
  }
  return groups;
}

bool launchedByMpi() {
  for (const char *variable : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"})
    if (std::getenv(variable))
      return true;
  return false;
}

Status checkReduction(DType dtype, Reduction reduction) {
  if (dtype != DType::F32 && dtype != DType::I32)
    return Status::error(
        fmt::format("cannot reduce {} values", dtypeName(dtype)));
  if (dtype != DType::F32 && reduction == Reduction::Mean)
    return Status::error("a mean reduces only f32 values");
  return Status();
}

Status checkCollectiveGroups(const Plan &plan, const Communicator &comm) {
  for (const Program &program : plan.programs)
    for (size_t i = 0; i < program.ops.size(); ++i) {
      const OpInfo &op = program.ops[i];
      if (!isCollective(op.kernel) || !op.hasAttr("group"))
        continue;
      auto group = static_cast<Group>(op.intAttr("group"));
      int64_t size = op.intAttr("size");
      int launched = comm.group(group).size();
      if (size != launched)
        return Status::error(fmt::format(
            "{} op {} ({}) runs over {} ranks of the {} group, but this "
            "launch of {} rank{} with expert parallelism {} has {}",
            program.name, i, op.kernel, size, groupName(group),
            comm.worldSize(), comm.worldSize() == 1 ? "" : "s",
            comm.expertParallelSize(), launched));
    }
  return Status();
}

} // namespace moert
