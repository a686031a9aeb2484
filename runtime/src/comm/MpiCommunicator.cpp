//===- MpiCommunicator.cpp - the collectives of an mpirun launch ----------===//
//
// One MPI communicator per group, split from MPI_COMM_WORLD by the layout of
// groupLayout(). Errors return (MPI_ERRORS_RETURN) rather than abort inside
// the library, so that a failed collective reports its call; a rank that
// cannot go on calls abort(), which ends every rank of the launch.
//
//===----------------------------------------------------------------------===//

#include "moert/Communicator.h"

#include <fmt/format.h>
#include <mpi.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace moert {

namespace {

Status mpiStatus(int code, const char *call) {
  if (code == MPI_SUCCESS)
    return Status();
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  return Status::error(fmt::format("{}: {}", call, std::string(text, length)));
}

#define MOERT_MPI(call) MOERT_RETURN_IF_ERROR(mpiStatus(call, #call))

/// MPI counts are ints: larger transfers are refused rather than truncated.
Status checkCount(int64_t count, const char *what) {
  if (count < 0 || count > INT_MAX)
    return Status::error(fmt::format(
        "{}: {} elements exceed what one MPI call carries", what, count));
  return Status();
}

/// The MPI type and operation of a reduction checkReduction accepts; a
/// mean is a sum, divided afterwards (divideForMean).
MPI_Datatype mpiType(DType dtype) {
  return dtype == DType::F32 ? MPI_FLOAT : MPI_INT32_T;
}

MPI_Op mpiOp(Reduction reduction) {
  return reduction == Reduction::Max ? MPI_MAX : MPI_SUM;
}

void divideForMean(Reduction reduction, void *data, int64_t count,
                   int members) {
  if (reduction != Reduction::Mean)
    return;
  float scale = 1.0f / static_cast<float>(members);
  float *values = static_cast<float *>(data);
  for (int64_t i = 0; i < count; ++i)
    values[i] *= scale;
}

class MpiCommunicator final : public Communicator {
public:
  MpiCommunicator(std::array<GroupMembers, numGroups> groups,
                  std::array<MPI_Comm, numGroups> comms)
      : Communicator(std::move(groups)), comms(comms) {}

  ~MpiCommunicator() override {
    for (MPI_Comm &comm : comms)
      MPI_Comm_free(&comm);
  }

  Status allReduce(Group group, DType dtype, void *data, int64_t count,
                   Reduction reduction) override {
    MOERT_RETURN_IF_ERROR(checkCount(count, "all-reduce"));
    MOERT_RETURN_IF_ERROR(checkReduction(dtype, reduction));
    MOERT_MPI(MPI_Allreduce(MPI_IN_PLACE, data, static_cast<int>(count),
                            mpiType(dtype), mpiOp(reduction), comm(group)));
    int n = this->group(group).size();
    sent.allReduce += 2 * (n - 1) * count * dtypeSize(dtype) / n;
    divideForMean(reduction, data, count, n);
    return Status();
  }

  Status allGather(Group group, const void *input, void *output,
                   int64_t bytes) override {
    MOERT_RETURN_IF_ERROR(checkCount(bytes, "all-gather"));
    MOERT_MPI(MPI_Allgather(input, static_cast<int>(bytes), MPI_BYTE, output,
                            static_cast<int>(bytes), MPI_BYTE, comm(group)));
    sent.allGather += (this->group(group).size() - 1) * bytes;
    return Status();
  }

  Status reduceScatter(Group group, DType dtype, const void *input,
                       void *output, int64_t count,
                       Reduction reduction) override {
    MOERT_RETURN_IF_ERROR(checkCount(count, "reduce-scatter"));
    MOERT_RETURN_IF_ERROR(checkReduction(dtype, reduction));
    MOERT_MPI(MPI_Reduce_scatter_block(input, output, static_cast<int>(count),
                                       mpiType(dtype), mpiOp(reduction),
                                       comm(group)));
    int n = this->group(group).size();
    sent.reduceScatter += (n - 1) * count * dtypeSize(dtype);
    divideForMean(reduction, output, count, n);
    return Status();
  }

  Status allToAllV(Group group, const void *input, const int64_t *sendRows,
                   void *output, int64_t outputRows, int64_t rowBytes,
                   int64_t *recvRows) override {
    MPI_Comm c = comm(group);
    int members = this->group(group).size();
    MOERT_MPI(
        MPI_Alltoall(sendRows, 1, MPI_INT64_T, recvRows, 1, MPI_INT64_T, c));
    // Every member learns whether every buffer can take its rows before any
    // row moves, so that all of them fail together rather than some waiting.
    int64_t arriving = 0, leaving = 0;
    for (int j = 0; j < members; ++j) {
      arriving += recvRows[j];
      leaving += sendRows[j];
    }
    int fits = arriving <= outputRows && arriving * rowBytes <= INT_MAX &&
               leaving * rowBytes <= INT_MAX;
    MOERT_MPI(MPI_Allreduce(MPI_IN_PLACE, &fits, 1, MPI_INT, MPI_MIN, c));
    if (!fits)
      return Status::error(fmt::format(
          "all-to-all over the {} group: {} rows arrive for a "
          "buffer of {} on member {}, or a member's buffer is "
          "too small or a member sends over 2 GiB",
          groupName(group), arriving, outputRows, this->group(group).index));
    std::vector<int> sendCounts(members), sendOffsets(members),
        recvCounts(members), recvOffsets(members);
    int64_t outgoing = 0, received = 0;
    for (int j = 0; j < members; ++j) {
      sendCounts[j] = static_cast<int>(sendRows[j] * rowBytes);
      sendOffsets[j] = static_cast<int>(outgoing);
      outgoing += sendCounts[j];
      recvCounts[j] = static_cast<int>(recvRows[j] * rowBytes);
      recvOffsets[j] = static_cast<int>(received);
      received += recvCounts[j];
    }
    MOERT_MPI(MPI_Alltoallv(input, sendCounts.data(), sendOffsets.data(),
                            MPI_BYTE, output, recvCounts.data(),
                            recvOffsets.data(), MPI_BYTE, c));
    sent.allToAll += outgoing - sendCounts[this->group(group).index];
    return Status();
  }

  Status barrier(Group group) override {
    MOERT_MPI(MPI_Barrier(comm(group)));
    return Status();
  }

  void abort(const std::string &reason) override {
    std::fprintf(stderr, "moe-run: rank %d of %d failed: %s\n", rank(),
                 worldSize(), reason.c_str());
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, 1);
    std::_Exit(1);
  }

private:
  MPI_Comm comm(Group group) const { return comms[static_cast<int>(group)]; }

  std::array<MPI_Comm, numGroups> comms;
};

} // namespace

StatusOr<std::unique_ptr<Communicator>> createMpiCommunicator(int ep) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) {
    MOERT_MPI(MPI_Init(nullptr, nullptr));
    // At exit, so that a process may create several communicators.
    std::atexit([] { MPI_Finalize(); });
  }
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  int rank = 0, world = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &world);
  StatusOr<std::array<GroupMembers, numGroups>> groups =
      groupLayout(rank, world, ep);
  if (!groups.ok())
    return groups.status();
  // The split keys keep each group in world-rank order, as groupLayout
  // lists it.
  std::array<MPI_Comm, numGroups> comms;
  auto split = [&](Group group, int color) -> Status {
    MPI_Comm &comm = comms[static_cast<int>(group)];
    MOERT_MPI(MPI_Comm_split(MPI_COMM_WORLD, color, rank, &comm));
    MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN);
    return Status();
  };
  MOERT_RETURN_IF_ERROR(split(Group::World, 0));
  MOERT_RETURN_IF_ERROR(split(Group::DP, 0));
  MOERT_RETURN_IF_ERROR(split(Group::EP, rank / ep));
  MOERT_RETURN_IF_ERROR(split(Group::EDP, rank % ep));
  return std::unique_ptr<Communicator>(
      std::make_unique<MpiCommunicator>(std::move(*groups), comms));
}

} // namespace moert
