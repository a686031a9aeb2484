//===- Executor.h - running a plan on the CPU -------------------*- C++ -*-===//

#ifndef MOERT_CPU_EXECUTOR_H
#define MOERT_CPU_EXECUTOR_H

#include "moert/Plan.h"
#include "moert/cpu/Kernels.h"

#include <functional>
#include <memory>

namespace moert::cpu {

/// Owns every buffer of one plan (the activation arena shared by its
/// programs, parameters, optimizer state, inputs and constants) and runs a
/// program's ops in order.
class Executor {
public:
  /// Checks every op against its kernel and allocates the buffers.
  static StatusOr<std::unique_ptr<Executor>> create(const Plan &plan);

  const Plan &plan() const { return *planRef; }
  /// The storage of tensor `index`, valid for the executor's lifetime.
  void *data(int index);
  template <typename T> T *dataAs(int index) {
    return static_cast<T *>(data(index));
  }

  /// Called after each op of a run with its position and the op; a failure
  /// stops the run.
  using OpObserver = std::function<Status(size_t, const OpInfo &)>;

  /// Runs every op of a program; stops at the first failing one and names
  /// it.
  Status run(const std::string &program = "forward",
             const OpObserver &afterOp = {});

private:
  explicit Executor(const Plan &plan) : planRef(&plan) {}

  const Plan *planRef;
  std::vector<uint64_t> arena; // 8-byte aligned
  std::vector<std::vector<uint64_t>> owned;
  std::map<std::string, std::vector<const Kernel *>> kernels; // by program
};

} // namespace moert::cpu

#endif // MOERT_CPU_EXECUTOR_H
