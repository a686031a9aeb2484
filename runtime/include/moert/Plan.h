//===- Plan.h - a verified execution plan ----------------------*- C++ -*-===//
//
// Loads a plan file written by moe-compile, checks it completely (identifier,
// schema, version, every tensor index, shape, offset and kernel attribute) and
// turns it into plain structures the executor reads without further checks.
//
//===----------------------------------------------------------------------===//

#ifndef MOERT_PLAN_H
#define MOERT_PLAN_H

#include "moert/Status.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace moert {

enum class DType : uint8_t { F32, I32, I64, I1 };
enum class TensorKind : uint8_t {
  Activation,
  Parameter,
  Input,
  Constant,
  State
};
enum class Init : uint8_t { Normal, ScaledNormal, Ones, Zeros };

size_t dtypeSize(DType dtype);
const char *dtypeName(DType dtype);

struct TensorInfo {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  TensorKind kind = TensorKind::Activation;
  int64_t offset = 0;
  std::vector<uint8_t> data; // constants

  int64_t numElements() const;
  int64_t numBytes() const { return numElements() * dtypeSize(dtype); }
  /// "tensor<16x64xf32>".
  std::string typeString() const;
};

struct OpInfo {
  std::string kernel;
  std::vector<int> inputs; // -1 for an absent optional operand
  std::vector<int> outputs;
  std::map<std::string, int64_t> intAttrs;
  std::map<std::string, double> floatAttrs;
};

struct ParameterInfo {
  std::string name;
  int tensor = -1;
  Init init = Init::Normal;
  int layer = -1;
};

struct ExpertLoadInfo {
  int layer = 0;
  int indices = -1;
  int keep = -1;
};

struct ModelInfo {
  int64_t seqLength = 0;
  int64_t microBatchSize = 0;
  int64_t vocabSize = 0;
  int64_t numLayers = 0;
  int64_t numExperts = 0;
  double initMethodStd = 0.02;
  int64_t seed = 1234;
  /// The model description as moe-compile resolved it, in JSON.
  std::string configJson;
};

/// One entry point of the plan: its ops run in order over the shared arena.
struct Program {
  std::string name;
  int64_t arenaBytes = 0;
  std::vector<OpInfo> ops;
  std::map<std::string, int> results;
  std::vector<ExpertLoadInfo> expertLoad;
};

struct Plan {
  /// The largest arena of any program; every program's activations fit it.
  int64_t arenaBytes = 0;
  std::vector<TensorInfo> tensors;
  std::vector<Program> programs;
  std::map<std::string, int> inputs;
  std::vector<ParameterInfo> parameters;
  /// Optimizer state and gradient accumulators by name.
  std::map<std::string, int> states;
  ModelInfo model;

  /// The program named `name`, or null.
  const Program *program(const std::string &name) const;
};

/// The plan format version this runtime reads.
uint32_t planVersion();

/// Reads and verifies a plan; errors name `path`.
StatusOr<Plan> loadPlan(const std::string &path);
/// Verifies a plan held in memory; errors name `name`.
StatusOr<Plan> parsePlan(const std::vector<uint8_t> &bytes,
                         const std::string &name);

} // namespace moert

#endif // MOERT_PLAN_H
