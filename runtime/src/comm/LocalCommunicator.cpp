//===- LocalCommunicator.cpp - the collectives of a one-process launch ----===//
//
// With one rank every group holds only this rank: a gather or a reduction
// returns the rank's own data, and an all-to-all sends its rows to itself.
//
//===----------------------------------------------------------------------===//

#include "moert/Communicator.h"

#include <fmt/format.h>

#include <cstring>

namespace moert {

namespace {

class LocalCommunicator final : public Communicator {
public:
  explicit LocalCommunicator(std::array<GroupMembers, numGroups> groups)
      : Communicator(std::move(groups)) {}

  Status allReduce(Group, DType dtype, void *, int64_t,
                   Reduction reduction) override {
    MOERT_RETURN_IF_ERROR(usable());
    return checkReduction(dtype, reduction);
  }

  Status allGather(Group, const void *input, void *output,
                   int64_t bytes) override {
    MOERT_RETURN_IF_ERROR(usable());
    if (input != output)
      std::memmove(output, input, bytes);
    return Status();
  }

  Status reduceScatter(Group, DType dtype, const void *input, void *output,
                       int64_t count, Reduction reduction) override {
    MOERT_RETURN_IF_ERROR(usable());
    MOERT_RETURN_IF_ERROR(checkReduction(dtype, reduction));
    if (input != output)
      std::memmove(output, input, count * dtypeSize(dtype));
    return Status();
  }

  Status allToAllV(Group, const void *input, const int64_t *sendRows,
                   void *output, int64_t outputRows, int64_t rowBytes,
                   int64_t *recvRows) override {
    MOERT_RETURN_IF_ERROR(usable());
    if (sendRows[0] < 0 || sendRows[0] > outputRows)
      return Status::error(
          fmt::format("all-to-all: {} rows arrive for a buffer of {}",
                      sendRows[0], outputRows));
    recvRows[0] = sendRows[0];
    if (input != output)
      std::memmove(output, input, sendRows[0] * rowBytes);
    return Status();
  }

  Status barrier(Group) override { return usable(); }

  void abort(const std::string &reason) override { aborted = reason; }

private:
  Status usable() const {
    if (!aborted.empty())
      return Status::error("the communicator was aborted: " + aborted);
    return Status();
  }

  std::string aborted;
};

} // namespace

std::unique_ptr<Communicator> createLocalCommunicator() {
  return std::make_unique<LocalCommunicator>(
      std::move(groupLayout(0, 1, 1).value()));
}

} // namespace moert
