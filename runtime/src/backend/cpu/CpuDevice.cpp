//===- CpuDevice.cpp - plans on the CPU -----------------------------------===//

#include "CpuDevice.h"
#include "KernelTables.h"

#include <fmt/format.h>

#include <cmath>
#include <cstring>

namespace moert::cpu {

const Kernel *findKernel(std::string_view name) {
  static const std::vector<Kernel> kernels = [] {
    std::vector<Kernel> all = denseKernels();
    for (const auto &table :
         {routingKernels(), dispatchKernels(), collectiveKernels(),
          denseGradKernels(), moeGradKernels(), optimizerKernels()})
      all.insert(all.end(), table.begin(), table.end());
    return all;
  }();
  for (const Kernel &kernel : kernels)
    if (kernel.name == name)
      return &kernel;
  return nullptr;
}

namespace {

/// Every buffer of one plan in host memory (the activation arena shared by
/// its programs, and one allocation per other tensor), and the plan's
/// programs as lists of kernels.
class CpuDevice final : public Device {
public:
  CpuDevice(const Plan &plan, Communicator &comm) : Device(plan, comm) {}

  Status prepare();

  const char *backend() const override { return "cpu"; }
  Status read(int index, void *host) override {
    std::memcpy(host, data(index), plan().tensors[index].numBytes());
    return Status();
  }
  Status write(int index, const void *host) override {
    std::memcpy(data(index), host, plan().tensors[index].numBytes());
    return Status();
  }
  Status zero(int index) override {
    std::memset(data(index), 0, plan().tensors[index].numBytes());
    return Status();
  }
  Status run(std::string_view name, const OpObserver &afterOp) override;
  Status synchronize() override { return Status(); }
  StatusOr<NonFiniteCount> countNonFinite(int index) override;

private:
  void *data(int index) {
    const TensorInfo &t = plan().tensors[index];
    if (t.kind == TensorKind::Activation)
      return reinterpret_cast<uint8_t *>(arena.data()) + t.offset;
    return owned[index].data();
  }

  std::vector<uint64_t> arena; // 8-byte aligned
  std::vector<std::vector<uint64_t>> owned;
  std::map<std::string, std::vector<const Kernel *>, std::less<>> kernels;
};

Status CpuDevice::prepare() {
  for (const Program &program : plan().programs) {
    std::vector<const Kernel *> &list = kernels[program.name];
    for (size_t i = 0; i < program.ops.size(); ++i) {
      const Kernel *kernel = findKernel(program.ops[i].kernel);
      if (!kernel)
        return Status::error(
            fmt::format("{} op {}: the cpu backend has no kernel for '{}'",
                        program.name, i, program.ops[i].kernel));
      list.push_back(kernel);
    }
  }
  arena.assign((plan().arenaBytes + 7) / 8, 0);
  owned.resize(plan().tensors.size());
  for (size_t i = 0; i < plan().tensors.size(); ++i) {
    const TensorInfo &t = plan().tensors[i];
    if (t.kind == TensorKind::Activation)
      continue;
    owned[i].assign((t.numBytes() + 7) / 8, 0);
    if (t.kind == TensorKind::Constant)
      std::memcpy(owned[i].data(), t.data.data(), t.data.size());
  }
  return Status();
}

StatusOr<NonFiniteCount> CpuDevice::countNonFinite(int index) {
  const TensorInfo &t = plan().tensors[index];
  if (t.dtype != DType::F32)
    return NonFiniteCount();
  const float *values = static_cast<const float *>(data(index));
  int64_t size = t.numElements();
  int64_t nan = 0, inf = 0, first = size;
#pragma omp parallel for reduction(+ : nan, inf)                               \
    reduction(min : first) if (size > (1 << 16))
  for (int64_t i = 0; i < size; ++i) {
    bool isNan = std::isnan(values[i]), isInf = std::isinf(values[i]);
    nan += isNan;
    inf += isInf;
    if ((isNan || isInf) && i < first)
      first = i;
  }
  return NonFiniteCount{nan, inf, first < size ? first : -1};
}

Status CpuDevice::run(std::string_view name, const OpObserver &afterOp) {
  const Program *program = plan().program(name);
  if (!program)
    return Status::error(fmt::format("the plan has no '{}' program", name));
  const std::vector<const Kernel *> &list = kernels.find(name)->second;
  for (size_t i = 0; i < program->ops.size(); ++i) {
    const OpInfo &op = program->ops[i];
    KernelArgs args{plan(), op, communicator(), {}, {}};
    for (int index : op.inputs)
      args.inputs.push_back(index < 0 ? nullptr : data(index));
    for (int index : op.outputs)
      args.outputs.push_back(data(index));
    Status status = list[i]->run(args);
    if (status.ok() && afterOp)
      status = afterOp(i, op);
    if (!status.ok())
      return status.within(fmt::format("{} op {} ({})", name, i, op.kernel));
  }
  return Status();
}

} // namespace

StatusOr<std::unique_ptr<Device>> createDevice(const Plan &plan,
                                               Communicator &comm) {
  auto device = std::make_unique<CpuDevice>(plan, comm);
  MOERT_RETURN_IF_ERROR(device->prepare());
  return std::unique_ptr<Device>(std::move(device));
}

} // namespace moert::cpu
