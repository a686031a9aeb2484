//===- KernelTables.h - kernel tables of the CPU backend --------*- C++ -*-===//

#ifndef MOERT_SRC_BACKEND_CPU_KERNELTABLES_H
#define MOERT_SRC_BACKEND_CPU_KERNELTABLES_H

#include "Kernels.h"

#include <vector>

namespace moert::cpu {

/// Kernels of the nn dialect.
std::vector<Kernel> denseKernels();
/// Kernels of the moe dialect's router, routing and losses.
std::vector<Kernel> routingKernels();
/// Kernels of capacity, dispatch and grouped GEMMs.
std::vector<Kernel> dispatchKernels();
/// Kernels of the collectives, through the device's communicator.
std::vector<Kernel> collectiveKernels();
/// Kernels of the nn gradient ops.
std::vector<Kernel> denseGradKernels();
/// Kernels of the moe gradient ops.
std::vector<Kernel> moeGradKernels();
/// Kernels of the optimizer step: learning rate, clipping, AdamW.
std::vector<Kernel> optimizerKernels();

} // namespace moert::cpu

#endif // MOERT_SRC_BACKEND_CPU_KERNELTABLES_H
