//===- Kernels.h - the CPU kernel of every plan op --------------*- C++ -*-===//
//
// One kernel per op kind of the plan, in fp32 with OpenBLAS for the matrix
// products and OpenMP across tokens. The plan loader has checked each op
// against its signature (moert/OpSignatures.h), so a kernel reads its
// operands and attributes without further checks; data-dependent problems
// (a token id outside the vocabulary) are reported by the run itself.
//
//===----------------------------------------------------------------------===//

#ifndef MOERT_SRC_BACKEND_CPU_KERNELS_H
#define MOERT_SRC_BACKEND_CPU_KERNELS_H

#include "moert/Communicator.h"
#include "moert/Plan.h"

#include "plan_generated.h"

#include <string_view>

namespace moert::cpu {

/// The operands of one op during a run.
struct KernelArgs {
  const Plan &plan;
  const OpInfo &op;
  Communicator &comm;
  std::vector<void *> inputs; // null for an absent optional operand
  std::vector<void *> outputs;

  const TensorInfo &input(size_t i) const { return plan.tensors[op.inputs[i]]; }
  const TensorInfo &output(size_t i) const {
    return plan.tensors[op.outputs[i]];
  }
  /// Input i, or null when the optional operand is absent.
  template <typename T> T *in(size_t i) const {
    return i < inputs.size() ? static_cast<T *>(inputs[i]) : nullptr;
  }
  template <typename T> T *out(size_t i) const {
    return static_cast<T *>(outputs[i]);
  }
  int64_t intAttr(std::string_view key) const { return op.intAttr(key); }
  double floatAttr(std::string_view key) const { return op.floatAttr(key); }
  bool boolAttr(std::string_view key) const { return op.boolAttr(key); }
  /// An enumerated attribute as its schema enumeration (plan_generated.h).
  template <typename E> E enumAttr(std::string_view key) const {
    return static_cast<E>(op.intAttr(key));
  }
};

struct Kernel {
  std::string_view name;
  Status (*run)(const KernelArgs &args);
};

/// The kernel for an op kind, or null.
const Kernel *findKernel(std::string_view name);

} // namespace moert::cpu

#endif // MOERT_SRC_BACKEND_CPU_KERNELS_H
