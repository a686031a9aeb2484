//===- Kernels.h - the CPU kernel of every plan op --------------*- C++ -*-===//
//
// One kernel per op kind of the plan, in fp32 with OpenBLAS for the matrix
// products and OpenMP across tokens. Each kernel has a check, run once when a
// plan is loaded, that verifies operand types, shapes and attributes, so that
// running it can never read or write out of bounds; data-dependent problems
// (a token id outside the vocabulary) are reported by the run itself.
//
//===----------------------------------------------------------------------===//

#ifndef MOERT_CPU_KERNELS_H
#define MOERT_CPU_KERNELS_H

#include "moert/Plan.h"

#include <string_view>

namespace moert::cpu {

/// The operands of one op during a run.
struct KernelArgs {
  const Plan &plan;
  const OpInfo &op;
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
  int64_t intAttr(const char *key) const { return op.intAttrs.at(key); }
  double floatAttr(const char *key) const { return op.floatAttrs.at(key); }
};

struct Kernel {
  std::string_view name;
  Status (*check)(const Plan &plan, const OpInfo &op);
  Status (*run)(const KernelArgs &args);
};

/// The kernel for an op kind, or null.
const Kernel *findKernel(std::string_view name);

} // namespace moert::cpu

#endif // MOERT_CPU_KERNELS_H
