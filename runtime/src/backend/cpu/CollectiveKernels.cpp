//===- CollectiveKernels.cpp - collectives through the communicator -------===//

#include "KernelTables.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

namespace moert::cpu {

namespace {

Group groupOf(const KernelArgs &a) {
  return static_cast<Group>(a.enumAttr<plan::CommGroup>("group"));
}

Status runAllToAllV(const KernelArgs &a) {
  const TensorInfo &input = a.input(0);
  int64_t members = a.intAttr("size");
  int64_t rowBytes = input.numBytes() / std::max<int64_t>(1, rows(input));
  const int32_t *send = a.in<int32_t>(1), *expected = a.in<int32_t>(2);
  std::vector<int64_t> sendRows(send, send + members), recvRows(members);
  int64_t total = 0;
  for (int64_t j = 0; j < members; ++j) {
    if (send[j] < 0)
      return Status::error(
          fmt::format("send_sizes[{}] is {} rows", j, send[j]));
    total += send[j];
  }
  if (total > rows(input))
    return Status::error(fmt::format(
        "send_sizes add up to {} rows, more than the {} of the input", total,
        rows(input)));
  const TensorInfo &output = a.output(0);
  MOERT_RETURN_IF_ERROR(
      a.comm.allToAllV(groupOf(a), a.inputs[0], sendRows.data(), a.outputs[0],
                       rows(output), rowBytes, recvRows.data()));
  int64_t received = 0;
  for (int64_t j = 0; j < members; ++j) {
    if (recvRows[j] != expected[j])
      return Status::error(fmt::format(
          "member {} of the {} group sent {} rows, but recv_sizes[{}] is {}", j,
          groupName(groupOf(a)), recvRows[j], j, expected[j]));
    received += recvRows[j];
  }
  // Rows past the received ones are zero.
  std::memset(a.out<uint8_t>(0) + received * rowBytes, 0,
              output.numBytes() - received * rowBytes);
  return Status();
}

Status runAllGather(const KernelArgs &a) {
  return a.comm.allGather(groupOf(a), a.inputs[0], a.outputs[0],
                          a.input(0).numBytes());
}

Status runReduceScatter(const KernelArgs &a) {
  return a.comm.reduceScatter(groupOf(a), a.input(0).dtype, a.inputs[0],
                              a.outputs[0], a.output(0).numElements(),
                              Reduction::Sum);
}

Status runAllReduce(const KernelArgs &a) {
  if (a.inputs[0] != a.outputs[0])
    std::memcpy(a.outputs[0], a.inputs[0], a.input(0).numBytes());
  return a.comm.allReduce(
      groupOf(a), a.input(0).dtype, a.outputs[0], a.input(0).numElements(),
      static_cast<Reduction>(a.enumAttr<plan::Reduction>("reduction")));
}

/// This member's split sizes from every member's expert counts; see the
/// op's description in the dialect.
Status runDispatchCounts(const KernelArgs &a) {
  int64_t members = a.intAttr("size");
  int64_t experts = a.input(0).numElements() / members;
  int64_t local = experts / members;
  int64_t p = a.comm.group(groupOf(a)).index;
  const int32_t *counts = a.in<int32_t>(0);
  int32_t *send = a.out<int32_t>(0), *recv = a.out<int32_t>(1);
  int32_t *chunks = a.out<int32_t>(2), *localSizes = a.out<int32_t>(3);
  for (int64_t i = 0; i < members * experts; ++i)
    if (counts[i] < 0)
      return Status::error(fmt::format("member {} counts {} rows for expert {}",
                                       i / experts, counts[i], i % experts));
  std::fill(localSizes, localSizes + local, 0);
  for (int64_t j = 0; j < members; ++j) {
    send[j] = recv[j] = 0;
    for (int64_t l = 0; l < local; ++l) {
      send[j] += counts[p * experts + j * local + l];
      int32_t rows = counts[j * experts + p * local + l];
      recv[j] += rows;
      chunks[j * local + l] = rows;
      localSizes[l] += rows;
    }
  }
  return Status();
}

/// The entries of this member's experts, renumbered from 0; see the op's
/// description in the dialect.
Status runLocalExperts(const KernelArgs &a) {
  int64_t members = a.intAttr("size"), experts = a.intAttr("experts");
  int64_t local = experts / members;
  int64_t first = a.comm.group(groupOf(a)).index * local;
  int64_t n = a.input(0).numElements();
  const int32_t *indices = a.in<int32_t>(0);
  const uint8_t *mask = a.inputs.size() > 1 ? a.in<uint8_t>(1) : nullptr;
  int32_t *localIndices = a.out<int32_t>(0);
  uint8_t *keep = a.out<uint8_t>(1);
  for (int64_t i = 0; i < n; ++i) {
    if (indices[i] < 0 || indices[i] >= experts)
      return Status::error(fmt::format("routing entry {} names expert {} of {}",
                                       i, indices[i], experts));
    bool mine =
        indices[i] >= first && indices[i] < first + local && (!mask || mask[i]);
    localIndices[i] = mine ? static_cast<int32_t>(indices[i] - first) : 0;
    keep[i] = mine;
  }
  return Status();
}

//===----------------------------------------------------------------------===//
// The distributed optimizer's flat layout
//===----------------------------------------------------------------------===//

Status runFlatten(const KernelArgs &a) {
  int64_t bytes = a.input(0).numBytes();
  std::memcpy(a.outputs[0], a.inputs[0], bytes);
  std::memset(a.out<uint8_t>(0) + bytes, 0, a.output(0).numBytes() - bytes);
  return Status();
}

Status runUnflatten(const KernelArgs &a) {
  std::memcpy(a.outputs[0], a.inputs[0], a.output(0).numBytes());
  return Status();
}

Status runLocalShard(const KernelArgs &a) {
  int64_t bytes = a.output(0).numBytes();
  int64_t p = a.comm.group(groupOf(a)).index;
  std::memcpy(a.outputs[0], a.in<uint8_t>(0) + p * bytes, bytes);
  return Status();
}

} // namespace

std::vector<Kernel> collectiveKernels() {
  return {
      {"moe.all_to_all_v", runAllToAllV},
      {"moe.all_gather", runAllGather},
      {"moe.reduce_scatter", runReduceScatter},
      {"moe.all_reduce", runAllReduce},
      {"moe.dispatch_counts", runDispatchCounts},
      {"moe.local_experts", runLocalExperts},
      {"moe.flatten", runFlatten},
      {"moe.unflatten", runUnflatten},
      {"moe.local_shard", runLocalShard},
  };
}

} // namespace moert::cpu
