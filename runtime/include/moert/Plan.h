//===- Plan.h - a verified execution plan ----------------------*- C++ -*-===//
//
// Loads a plan file written by moe-compile, checks it completely (identifier,
// schema, version, every tensor index, shape and offset, and every op against
// its signature) and turns it into plain structures that a backend runs
// without further checks.
//
//===----------------------------------------------------------------------===//

#ifndef MOERT_PLAN_H
#define MOERT_PLAN_H

#include "moert/Status.h"

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <variant>
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
  /// > 1: this rank's slice of a parameter or state split by expert over the
  /// ep group; dimension 0 of the whole tensor is `shards` times shape[0].
  int64_t shards = 1;
  /// > 1: an AdamW moment under the distributed optimizer: this rank's slice
  /// of the moment of `flatShape`, flattened, zero-padded and cut into
  /// `flatShards` slices over `flatGroup` (a plan::CommGroup value).
  int64_t flatShards = 1;
  int flatGroup = 0;
  std::vector<int64_t> flatShape;

  int64_t numElements() const;
  int64_t numBytes() const { return numElements() * dtypeSize(dtype); }
  /// "tensor<16x64xf32>".
  std::string typeString() const;
};

/// The rows and columns of a matrix (dimensions 0 and 1).
inline int64_t rows(const TensorInfo &t) { return t.shape[0]; }
inline int64_t cols(const TensorInfo &t) { return t.shape[1]; }

/// An op attribute as the plan types it: an integer (enumerations by their
/// value), a floating point number or a boolean.
using AttrValue = std::variant<int64_t, double, bool>;

/// "int", "float" or "bool".
const char *attrKindName(const AttrValue &value);

struct OpInfo {
  std::string kernel;
  std::vector<int> inputs; // -1 for an absent optional operand
  std::vector<int> outputs;
  std::map<std::string, AttrValue, std::less<>> attrs;

  bool hasAttr(std::string_view key) const { return attrs.count(key) != 0; }
  /// The attribute `key`, which the op's signature has checked to be present
  /// and of this kind; anything else throws std::logic_error.
  int64_t intAttr(std::string_view key) const;
  double floatAttr(std::string_view key) const;
  bool boolAttr(std::string_view key) const;

  OpInfo &setInt(std::string key, int64_t value);
  OpInfo &setFloat(std::string key, double value);
  OpInfo &setBool(std::string key, bool value);
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
  bool drops = false; // entries `keep` leaves out are dropped tokens
};

struct ModelInfo {
  int64_t vocabSize = 0;
  int64_t numLayers = 0;
  int64_t numExperts = 0;
  double initMethodStd = 0.02;
  int64_t seed = 1234;
  /// The model description as moe-compile resolved it, in JSON, for oracles.
  std::string configJson;
};

enum class LRDecayStyle : uint8_t { Constant, Linear, Cosine };

struct ScheduleInfo {
  double lr = 0;
  double minLr = 0;
  int64_t warmupIters = 0;
  int64_t decayIters = 0; // 0: a decay spans the training run
  LRDecayStyle decayStyle = LRDecayStyle::Constant;
};

/// The batch the graph was compiled for and the description's training
/// settings, the defaults of moe-run's options.
struct TrainingInfo {
  int64_t seqLength = 0;
  int64_t microBatchSize = 0;
  int64_t globalBatchSize = 0;
  int64_t microBatches = 1; // forward_backward runs per optimizer step
  int64_t logInterval = 100;
  int64_t evalInterval = 0;
  int64_t evalIters = 10;
  int64_t saveInterval = 0;
  std::string save;
  std::string tensorboardDir;
  std::vector<std::string> dataPath;
  std::string split;
  bool perLayerLogging = false;
  ScheduleInfo schedule;
  int64_t worldSize = 1;          // ranks the plan runs on
  int64_t expertParallelSize = 1; // ranks of an ep group
  /// Ranks reading micro-batches of their own: the world, or world / ep when
  /// the ranks of an ep group share theirs (replicated experts).
  int64_t dataParallelSize = 1;

  int64_t tokensPerMicroBatch() const { return seqLength * microBatchSize; }
};

/// One entry point of the plan: its ops run in order over the shared arena.
struct Program {
  std::string name;
  int64_t arenaBytes = 0;
  std::vector<OpInfo> ops;
  std::map<std::string, int, std::less<>> results;
  std::vector<ExpertLoadInfo> expertLoad;
};

struct Plan {
  /// The largest arena of any program; every program's activations fit it.
  int64_t arenaBytes = 0;
  std::vector<TensorInfo> tensors;
  std::vector<Program> programs;
  std::map<std::string, int, std::less<>> inputs;
  std::vector<ParameterInfo> parameters;
  /// Optimizer state and gradient accumulators by name.
  std::map<std::string, int, std::less<>> states;
  ModelInfo model;
  TrainingInfo training;
  /// A digest of the plan's bytes: ranks that loaded the same plan agree.
  uint64_t digest = 0;

  /// The program named `name`, or null.
  const Program *program(std::string_view name) const;
  /// The tensor of input `name`, or -1.
  int input(std::string_view name) const;
  /// The tensor of an input, a parameter or a state by its name, or -1.
  int tensorNamed(std::string_view name) const;
};

/// The plan format version this runtime reads.
uint32_t planVersion();

/// Reads and verifies a plan; errors name `path`.
StatusOr<Plan> loadPlan(const std::string &path);
/// Verifies a plan held in memory; errors name `name`.
StatusOr<Plan> parsePlan(const std::vector<uint8_t> &bytes,
                         const std::string &name);

/// Checks every op of every program against its signature (OpSignatures.h);
/// parsePlan does, and so must whoever builds a Plan by hand.
Status verifyOps(const Plan &plan);

} // namespace moert

#endif // MOERT_PLAN_H
