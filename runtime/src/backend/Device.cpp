//===- Device.cpp - the backends of this build ----------------------------===//

#include "moert/Device.h"

#include "cpu/CpuDevice.h"

namespace moert {

namespace {

StatusOr<int> tensorNamed(const Plan &plan, std::string_view name) {
  int index = plan.tensorNamed(name);
  if (index < 0)
    return Status::error(fmt::format("the plan has no tensor '{}'", name));
  return index;
}

} // namespace

Status Device::read(std::string_view name, void *host) {
  StatusOr<int> index = tensorNamed(plan(), name);
  return index.ok() ? read(*index, host) : index.status();
}

Status Device::write(std::string_view name, const void *host) {
  StatusOr<int> index = tensorNamed(plan(), name);
  return index.ok() ? write(*index, host) : index.status();
}

const std::vector<Backend> &backends() {
  static const std::vector<Backend> all = {
      {"cpu", [] { return std::string(); }, cpu::createDevice},
  };
  return all;
}

StatusOr<std::unique_ptr<Device>>
createDevice(std::string_view name, const Plan &plan, Communicator &comm) {
  MOERT_RETURN_IF_ERROR(checkCollectiveGroups(plan, comm));
  std::string known, reasons;
  for (const Backend &backend : backends()) {
    known += fmt::format("{}{}", known.empty() ? "" : ", ", backend.name);
    if (name != "auto" && name != backend.name)
      continue;
    std::string unavailable = backend.unavailable();
    if (unavailable.empty())
      return backend.create(plan, comm);
    if (name != "auto")
      return Status::error(fmt::format("the {} backend cannot run here: {}",
                                       backend.name, unavailable));
    reasons += fmt::format("; {}: {}", backend.name, unavailable);
  }
  if (name == "auto")
    return Status::error("no backend can run here" + reasons);
  return Status::error(
      fmt::format("unknown device '{}'; this build has {}", name, known));
}

} // namespace moert
