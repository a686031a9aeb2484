//===- Executor.cpp - running a plan on the CPU ---------------------------===//

#include "moert/cpu/Executor.h"

#include "DenseKernels.h"

#include <cstring>

namespace moert::cpu {

const Kernel *findKernel(std::string_view name) {
  static const std::vector<Kernel> kernels = [] {
    std::vector<Kernel> all = denseKernels();
    for (const auto &table :
         {routingKernels(), dispatchKernels(), denseGradKernels(),
          moeGradKernels(), optimizerKernels()})
      all.insert(all.end(), table.begin(), table.end());
    return all;
  }();
  for (const Kernel &kernel : kernels)
    if (kernel.name == name)
      return &kernel;
  return nullptr;
}

StatusOr<std::unique_ptr<Executor>> Executor::create(const Plan &plan) {
  std::unique_ptr<Executor> executor(new Executor(plan));
  for (const Program &program : plan.programs) {
    std::vector<const Kernel *> &kernels = executor->kernels[program.name];
    for (size_t i = 0; i < program.ops.size(); ++i) {
      const OpInfo &op = program.ops[i];
      std::string where = program.name + " op " + std::to_string(i);
      const Kernel *kernel = findKernel(op.kernel);
      if (!kernel)
        return Status::error(where + ": no CPU kernel for '" + op.kernel + "'");
      Status checked = kernel->check(plan, op);
      if (!checked.ok())
        return checked.within(where);
      kernels.push_back(kernel);
    }
  }
  executor->arena.assign((plan.arenaBytes + 7) / 8, 0);
  executor->owned.resize(plan.tensors.size());
  for (size_t i = 0; i < plan.tensors.size(); ++i) {
    const TensorInfo &t = plan.tensors[i];
    if (t.kind == TensorKind::Activation)
      continue;
    executor->owned[i].assign((t.numBytes() + 7) / 8, 0);
    if (t.kind == TensorKind::Constant)
      std::memcpy(executor->owned[i].data(), t.data.data(), t.data.size());
  }
  return executor;
}

void *Executor::data(int index) {
  const TensorInfo &t = planRef->tensors[index];
  if (t.kind == TensorKind::Activation)
    return reinterpret_cast<uint8_t *>(arena.data()) + t.offset;
  return owned[index].data();
}

Status Executor::run(const std::string &name, const OpObserver &afterOp) {
  const Program *program = planRef->program(name);
  if (!program)
    return Status::error("the plan has no '" + name + "' program");
  const std::vector<const Kernel *> &kernels = this->kernels.at(name);
  for (size_t i = 0; i < program->ops.size(); ++i) {
    const OpInfo &op = program->ops[i];
    KernelArgs args{*planRef, op, {}, {}};
    for (int index : op.inputs)
      args.inputs.push_back(index < 0 ? nullptr : data(index));
    for (int index : op.outputs)
      args.outputs.push_back(data(index));
    Status status = kernels[i]->run(args);
    if (status.ok() && afterOp)
      status = afterOp(i, op);
    if (!status.ok())
      return status.within(name + " op " + std::to_string(i) + " (" +
                           op.kernel + ")");
  }
  return Status();
}

} // namespace moert::cpu
