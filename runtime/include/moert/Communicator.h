//===- Communicator.h - collectives over the ranks of a launch --*- C++ -*-===//
//
// Every rank of a launch runs the same plan; its collective ops exchange data
// through one Communicator. The groups are Megatron's without tensor or
// pipeline parallelism: every rank is a data-parallel rank (dp is the whole
// world), `ep` divides the world and each run of `ep` consecutive ranks
// splits the experts among its members (an ep group), and the world / ep
// ranks at the same position of their ep groups hold the same experts and
// form an expert-data-parallel (edp) group.
//
//===----------------------------------------------------------------------===//

#ifndef MOERT_COMMUNICATOR_H
#define MOERT_COMMUNICATOR_H

#include "moert/Plan.h"

#include <array>
#include <memory>
#include <string>
#include <vector>

namespace moert {

/// The values of the plan's CommGroup enumeration.
enum class Group : uint8_t { DP, EP, EDP, World };
inline constexpr int numGroups = 4;
/// "dp", "ep", "edp", "world".
const char *groupName(Group group);

/// The values of the plan's Reduction enumeration.
enum class Reduction : uint8_t { Sum, Mean, Max };

/// One group as one of its members sees it.
struct GroupMembers {
  std::vector<int> ranks; // world ranks, in group order
  int index = 0;          // this rank's position in `ranks`

  int size() const { return static_cast<int>(ranks.size()); }
};

/// The groups of world rank `rank` in a launch of `worldSize` ranks with
/// expert parallelism `ep`, by Group; `ep` must divide the world.
StatusOr<std::array<GroupMembers, numGroups>>
groupLayout(int rank, int worldSize, int ep);

/// The bytes a rank has sent to other ranks, by kind of collective, as the
/// algorithms count them: an all-to-all its rows for other members, a
/// gather its input once per other member, a ring reduce-scatter (n - 1) / n
/// of its input and a ring all-reduce twice that.
struct CommTraffic {
  int64_t allToAll = 0, allGather = 0, reduceScatter = 0, allReduce = 0;
  int64_t total() const {
    return allToAll + allGather + reduceScatter + allReduce;
  }
};

/// Collectives over the groups of one launch. Buffers live where the
/// backend the communicator serves keeps tensors (host memory for the CPU).
/// A collective that fails fails on every member; a rank that fails outside
/// a collective must call abort(), which ends every rank of the launch, so
/// that no rank waits forever for it.
class Communicator {
public:
  virtual ~Communicator() = default;

  int rank() const { return groups[static_cast<int>(Group::World)].index; }
  int worldSize() const {
    return groups[static_cast<int>(Group::World)].size();
  }
  int expertParallelSize() const { return group(Group::EP).size(); }
  const GroupMembers &group(Group g) const {
    return groups[static_cast<int>(g)];
  }

  /// Every member gets the elementwise reduction of the members' `count`
  /// values at `data` (f32 or i32; Mean only for f32), in place.
  virtual Status allReduce(Group group, DType dtype, void *data, int64_t count,
                           Reduction reduction) = 0;
  /// `output` receives every member's `bytes` from `input`, in group order.
  virtual Status allGather(Group group, const void *input, void *output,
                           int64_t bytes) = 0;
  /// Reduces the members' `input` of group-size × `count` values elementwise
  /// and keeps this member's slice of `count` values in `output`.
  virtual Status reduceScatter(Group group, DType dtype, const void *input,
                               void *output, int64_t count,
                               Reduction reduction) = 0;
  /// Sends `sendRows[j]` rows of `rowBytes` to member j, taken from `input`
  /// in member order, and receives each member's rows for this one into
  /// `output`, in member order. The row counts are exchanged first and
  /// returned in `recvRows` (one per member); more than `outputRows` rows in
  /// all is an error.
  virtual Status allToAllV(Group group, const void *input,
                           const int64_t *sendRows, void *output,
                           int64_t outputRows, int64_t rowBytes,
                           int64_t *recvRows) = 0;
  virtual Status barrier(Group group) = 0;
  /// Fails every collective from now on, on every rank, with `reason`.
  virtual void abort(const std::string &reason) = 0;

  /// What this rank has sent so far.
  const CommTraffic &traffic() const { return sent; }

protected:
  explicit Communicator(std::array<GroupMembers, numGroups> groups)
      : groups(std::move(groups)) {}

  CommTraffic sent;

private:
  std::array<GroupMembers, numGroups> groups;
};

/// Whether a communicator reduces `dtype` values by `reduction`: f32 or i32,
/// and a mean only of f32.
Status checkReduction(DType dtype, Reduction reduction);

/// The communicator of a one-process launch: world 1, every group of one.
std::unique_ptr<Communicator> createLocalCommunicator();

/// Whether mpirun (or another PMI launcher) started this process.
bool launchedByMpi();

/// The communicator of an mpirun launch with expert parallelism `ep`; an
/// error when `ep` does not divide the world, or in a build without MPI.
/// abort() on it ends every rank of the launch.
StatusOr<std::unique_ptr<Communicator>> createMpiCommunicator(int ep);

/// Each collective op of the plan must run over a group of the size it was
/// compiled for: an error names the op, the group and both sizes.
Status checkCollectiveGroups(const Plan &plan, const Communicator &comm);

} // namespace moert

#endif // MOERT_COMMUNICATOR_H
