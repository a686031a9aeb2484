//===- Weights.h - parameters: initialisation and safetensors ---*- C++ -*-===//
//
// Parameters live in the executor's buffers. They are initialised from a seed
// as Megatron does (normal with init_method_std; the projections into the
// residual stream scaled by 1/sqrt(2 * layers); norms one; biases zero) or
// read from and written to safetensors files under Hugging Face names. A
// stacked expert weight [E, out, in] is stored as E tensors
// "...experts.<e>.w1.weight" of [out, in], as a Mixtral checkpoint holds them.
//
//===----------------------------------------------------------------------===//

#ifndef MOERT_WEIGHTS_H
#define MOERT_WEIGHTS_H

#include "moert/cpu/Executor.h"

namespace moert {

/// Fills every parameter from `seed`; the same seed gives the same weights.
void initializeParameters(cpu::Executor &executor, uint64_t seed);

/// Writes every parameter, under its Hugging Face names, atomically: to a
/// temporary file that is synced and then renamed over `path`.
Status saveSafetensors(cpu::Executor &executor, const std::string &path);

/// Reads every parameter from `path`; a missing tensor, a tensor of another
/// shape or type, or a malformed file is an error naming it.
Status loadSafetensors(cpu::Executor &executor, const std::string &path);

} // namespace moert

#endif // MOERT_WEIGHTS_H
