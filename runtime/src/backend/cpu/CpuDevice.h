//===- CpuDevice.h - the CPU backend ----------------------------*- C++ -*-===//

#ifndef MOERT_SRC_BACKEND_CPU_CPUDEVICE_H
#define MOERT_SRC_BACKEND_CPU_CPUDEVICE_H

#include "moert/Device.h"

namespace moert::cpu {

/// A device in host memory that runs ops with the CPU kernels (fp32,
/// OpenBLAS, OpenMP).
StatusOr<std::unique_ptr<Device>> createDevice(const Plan &plan,
                                               Communicator &comm);

} // namespace moert::cpu

#endif // MOERT_SRC_BACKEND_CPU_CPUDEVICE_H
