//===- Weights.h - parameters: initialisation and safetensors ---*- C++ -*-===//
//
// Parameters live on the device. They are initialised from a seed
// as Megatron does (normal with init_method_std; the projections into the
// residual stream scaled by 1/sqrt(2 * layers); norms one; biases zero) or
// read from and written to safetensors files under Hugging Face names. A
// stacked expert weight [E, out, in] is stored as E tensors
// "...experts.<e>.w1.weight" of [out, in], as a Mixtral checkpoint holds them.
//
//===----------------------------------------------------------------------===//

#ifndef MOERT_WEIGHTS_H
#define MOERT_WEIGHTS_H

#include "moert/Device.h"

namespace moert {

/// Tensors as a checkpoint file names them; "{expert}" in a name stands for
/// the expert index of a stacked [E, ...] tensor, stored one file tensor per
/// expert.
using NamedTensors = std::vector<std::pair<std::string, int>>;

/// Every parameter under its Hugging Face name.
NamedTensors parameterTensors(const Plan &plan);
/// The AdamW moments, "exp_avg.<parameter>" and "exp_avg_sq.<parameter>".
NamedTensors optimizerTensors(const Plan &plan);

/// The name under which a checkpoint stores element `element` of tensor
/// `index`, named `name` (with "{expert}" for a stacked one): the expert's
/// own tensor name, counting experts over the whole model.
std::string fileTensorName(const Device &device, int index,
                           const std::string &name, int64_t element);

/// Fills every parameter from `seed`; the same seed gives the same weights.
Status initializeParameters(Device &device, uint64_t seed);

/// One tensor of a safetensors file, in the plan's element types (I1 is
/// written as BOOL).
struct SafetensorsEntry {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  const void *data;
};

/// Writes the tensors atomically: to a temporary file that is synced and
/// then renamed over `path`.
Status writeSafetensors(const std::string &path,
                        const std::vector<SafetensorsEntry> &tensors);

/// Writes the tensors (by default every parameter) with writeSafetensors.
Status saveSafetensors(Device &device, const std::string &path,
                       const NamedTensors &named);
inline Status saveSafetensors(Device &device, const std::string &path) {
  return saveSafetensors(device, path, parameterTensors(device.plan()));
}

/// Reads the tensors (by default every parameter) from `path`; a missing
/// tensor, a tensor of another shape or type, or a malformed file is an error
/// naming it.
Status loadSafetensors(Device &device, const std::string &path,
                       const NamedTensors &named);
inline Status loadSafetensors(Device &device, const std::string &path) {
  return loadSafetensors(device, path, parameterTensors(device.plan()));
}

} // namespace moert

#endif // MOERT_WEIGHTS_H
