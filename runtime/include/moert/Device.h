//===- Device.h - one plan on one backend -----------------------*- C++ -*-===//
//
// The interface every backend implements, after IREE's HAL: a device holds
// one plan's storage (the activation arena its programs share, parameters,
// optimizer state, inputs and constants), moves tensors to and from host
// memory, and runs programs. The trainer, checkpoints and tools see only
// this; each backend brings run functions for the ops, whose operands the
// plan loader has already checked against their signatures.
//
//===----------------------------------------------------------------------===//

#ifndef MOERT_DEVICE_H
#define MOERT_DEVICE_H

#include "moert/Communicator.h"
#include "moert/Plan.h"

#include <fmt/format.h>

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace moert {

/// Called after each op of a run with its position and the op; a failure
/// stops the run.
using OpObserver = std::function<Status(size_t, const OpInfo &)>;

/// How many values of a tensor are NaN and how many infinite.
struct NonFiniteCount {
  int64_t nan = 0;
  int64_t inf = 0;
  int64_t first = -1; // the element index of the first, or -1
  bool any() const { return nan > 0 || inf > 0; }
};

class Device {
public:
  virtual ~Device() = default;

  const Plan &plan() const { return *planRef; }
  /// The communicator of the plan's collectives.
  Communicator &communicator() const { return *comm; }
  /// The backend's name: "cpu".
  virtual const char *backend() const = 0;

  /// Copies all of tensor `index` (TensorInfo::numBytes) to `host`.
  virtual Status read(int index, void *host) = 0;
  /// Copies all of tensor `index` from `host`.
  virtual Status write(int index, const void *host) = 0;
  /// Sets every byte of tensor `index` to zero.
  virtual Status zero(int index) = 0;
  /// Runs the ops of a program in order; stops at the first failing one and
  /// names it.
  virtual Status run(std::string_view program,
                     const OpObserver &afterOp = {}) = 0;
  /// Waits until the work issued so far has finished.
  virtual Status synchronize() = 0;
  /// Counts the NaN and infinite values of tensor `index` where it lies
  /// (none in an integer tensor).
  virtual StatusOr<NonFiniteCount> countNonFinite(int index) = 0;

  /// Tensor `index` as a host vector of `T`, whose size must match.
  template <typename T> StatusOr<std::vector<T>> read(int index) {
    std::vector<T> values(plan().tensors[index].numBytes() / sizeof(T));
    MOERT_RETURN_IF_ERROR(read(index, values.data()));
    return values;
  }
  template <typename T> Status write(int index, const std::vector<T> &values) {
    const TensorInfo &t = plan().tensors[index];
    if (values.size() * sizeof(T) != static_cast<size_t>(t.numBytes()))
      return Status::error(fmt::format("{} ({}) takes {} bytes, not {}", t.name,
                                       t.typeString(), t.numBytes(),
                                       values.size() * sizeof(T)));
    return write(index, values.data());
  }
  /// By name: an input, a parameter or a state (Plan::tensorNamed).
  Status read(std::string_view name, void *host);
  Status write(std::string_view name, const void *host);

protected:
  Device(const Plan &plan, Communicator &comm) : planRef(&plan), comm(&comm) {}

private:
  const Plan *planRef;
  Communicator *comm;
};

/// A backend this build can create devices of.
struct Backend {
  const char *name;
  /// Why the backend cannot run on this machine, or an empty string when it
  /// can.
  std::string (*unavailable)();
  /// A device for `plan` whose collectives go through `comm`; both must
  /// outlive it. Fails when an op has no kernel on the backend.
  StatusOr<std::unique_ptr<Device>> (*create)(const Plan &plan,
                                              Communicator &comm);
};

/// The backends of this build, in the order `auto` tries them.
const std::vector<Backend> &backends();

/// A device of the backend `name`, or with "auto" of the first backend that
/// can run here.
StatusOr<std::unique_ptr<Device>>
createDevice(std::string_view name, const Plan &plan, Communicator &comm);

} // namespace moert

#endif // MOERT_DEVICE_H
