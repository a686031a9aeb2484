//===- Plan.cpp - loading and verifying a plan ----------------------------===//

#include "moert/Plan.h"
#include "moert/PlanNames.h"
#include "moert/SplitMix.h"

#include "plan_generated.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>

namespace moert {

size_t dtypeSize(DType dtype) {
  switch (dtype) {
  case DType::F32:
  case DType::I32:
    return 4;
  case DType::I64:
    return 8;
  case DType::I1:
    return 1;
  }
  return 0;
}

const char *dtypeName(DType dtype) {
  switch (dtype) {
  case DType::F32:
    return "f32";
  case DType::I32:
    return "i32";
  case DType::I64:
    return "i64";
  case DType::I1:
    return "i1";
  }
  return "?";
}

int64_t TensorInfo::numElements() const {
  int64_t count = 1;
  for (int64_t dim : shape)
    count *= dim;
  return count;
}

std::string TensorInfo::typeString() const {
  std::string text = "tensor<";
  for (int64_t dim : shape)
    text += fmt::format("{}x", dim);
  return text + dtypeName(dtype) + ">";
}

const char *attrKindName(const AttrValue &value) {
  static const char *names[] = {"int", "float", "bool"};
  return names[value.index()];
}

namespace {

template <typename T>
T attrOf(const OpInfo &op, std::string_view key, const char *kind) {
  auto it = op.attrs.find(key);
  if (it == op.attrs.end() || !std::holds_alternative<T>(it->second))
    throw std::logic_error(
        fmt::format("op {} has no {} attribute '{}'", op.kernel, kind, key));
  return std::get<T>(it->second);
}

} // namespace

int64_t OpInfo::intAttr(std::string_view key) const {
  return attrOf<int64_t>(*this, key, "int");
}
double OpInfo::floatAttr(std::string_view key) const {
  return attrOf<double>(*this, key, "float");
}
bool OpInfo::boolAttr(std::string_view key) const {
  return attrOf<bool>(*this, key, "bool");
}

OpInfo &OpInfo::setInt(std::string key, int64_t value) {
  attrs[std::move(key)] = value;
  return *this;
}
OpInfo &OpInfo::setFloat(std::string key, double value) {
  attrs[std::move(key)] = value;
  return *this;
}
OpInfo &OpInfo::setBool(std::string key, bool value) {
  attrs[std::move(key)] = value;
  return *this;
}

const Program *Plan::program(std::string_view name) const {
  for (const Program &p : programs)
    if (p.name == name)
      return &p;
  return nullptr;
}

int Plan::input(std::string_view name) const {
  auto it = inputs.find(name);
  return it == inputs.end() ? -1 : it->second;
}

int Plan::tensorNamed(std::string_view name) const {
  if (int index = input(name); index >= 0)
    return index;
  if (auto it = states.find(name); it != states.end())
    return it->second;
  for (const ParameterInfo &p : parameters)
    if (p.name == name)
      return p.tensor;
  return -1;
}

uint32_t planVersion() {
  return static_cast<uint32_t>(plan::PlanVersion::Current);
}

namespace {

/// At most 2^40 elements, so that element and byte counts stay far from
/// overflowing.
Status checkElementCount(const std::vector<int64_t> &shape,
                         const std::string &what) {
  int64_t elements = 1;
  for (int64_t dim : shape)
    if (__builtin_mul_overflow(elements, dim, &elements) ||
        elements > (int64_t(1) << 40))
      return Status::error(what + " has more than 2^40 elements");
  return Status();
}

/// The values of a [long] vector. The verifier checks the alignment of its
/// length only, so a malformed file may place them anywhere: they are copied
/// rather than read in place.
std::vector<int64_t> longs(const flatbuffers::Vector<int64_t> *vector) {
  std::vector<int64_t> values(vector ? vector->size() : 0);
  if (!values.empty())
    std::memcpy(values.data(), vector->Data(), values.size() * sizeof(int64_t));
  return values;
}

/// Reads the flatbuffer into plain structures, checking what the schema
/// verifier cannot: ranges, indices and sizes.
class PlanReader {
public:
  explicit PlanReader(const plan::Plan &fb) : fb(fb) {}

  StatusOr<Plan> read() {
    if (!fb.programs() || fb.programs()->size() == 0)
      return Status::error("the plan has no program");
    for (const plan::Program *program : *fb.programs()) {
      if (program->arena_bytes() < 0)
        return Status::error(fmt::format("program {} has a negative arena size",
                                         program->name()->str()));
      result.arenaBytes = std::max(result.arenaBytes, program->arena_bytes());
    }
    MOERT_RETURN_IF_ERROR(readTensors());
    for (const plan::Program *program : *fb.programs())
      MOERT_RETURN_IF_ERROR(readProgram(*program));
    MOERT_RETURN_IF_ERROR(readNamed(fb.inputs(), "input", result.inputs));
    MOERT_RETURN_IF_ERROR(readNamed(fb.states(), "state", result.states));
    for (auto &[name, index] : result.states)
      if (result.tensors[index].kind != TensorKind::State ||
          result.tensors[index].dtype != DType::F32)
        return Status::error(
            fmt::format("state {} is not an f32 state tensor", name));
    MOERT_RETURN_IF_ERROR(readParameters());
    MOERT_RETURN_IF_ERROR(readModel());
    MOERT_RETURN_IF_ERROR(readTraining());
    MOERT_RETURN_IF_ERROR(checkLayouts());
    MOERT_RETURN_IF_ERROR(checkInterface());
    MOERT_RETURN_IF_ERROR(verifyOps(result));
    return std::move(result);
  }

private:
  Status checkIndex(int index, const std::string &what,
                    bool optional = false) const {
    if (optional && index == -1)
      return Status();
    if (index < 0 || index >= static_cast<int>(result.tensors.size()))
      return Status::error(
          fmt::format("{} refers to tensor {}, but the plan has {}", what,
                      index, result.tensors.size()));
    return Status();
  }

  Status readTensors() {
    if (!fb.tensors())
      return Status::error("the plan has no tensor table");
    for (const plan::Tensor *t : *fb.tensors()) {
      TensorInfo info;
      std::string what = fmt::format("tensor {}", result.tensors.size());
      info.name = t->name() ? t->name()->str() : "";
      if (t->dtype() < plan::DType::MIN || t->dtype() > plan::DType::MAX)
        return Status::error(what + " has an unknown element type");
      info.dtype = static_cast<DType>(t->dtype());
      if (t->kind() < plan::TensorKind::MIN ||
          t->kind() > plan::TensorKind::MAX)
        return Status::error(what + " has an unknown kind");
      info.kind = static_cast<TensorKind>(t->kind());
      for (int64_t dim : longs(t->shape())) {
        if (dim < 0 || dim > (int64_t(1) << 40))
          return Status::error(
              fmt::format("{} has a dimension of {}", what, dim));
        info.shape.push_back(dim);
      }
      MOERT_RETURN_IF_ERROR(checkElementCount(info.shape, what));
      info.offset = t->offset();
      info.shards = t->shards();
      info.flatShards = t->flat_shards();
      info.flatGroup = static_cast<int>(t->flat_group());
      for (int64_t dim : longs(t->flat_shape())) {
        if (dim < 1 || dim > (int64_t(1) << 40))
          return Status::error(
              fmt::format("{} ({}) has a flat shape dimension of {}", what,
                          info.name, dim));
        info.flatShape.push_back(dim);
      }
      MOERT_RETURN_IF_ERROR(checkElementCount(info.flatShape, what));
      if (info.flatShards != 1) {
        TensorInfo logical;
        logical.shape = info.flatShape;
        if (info.flatShards < 1 || info.flatShards > (int64_t(1) << 24) ||
            info.kind != TensorKind::State || info.shape.size() != 1 ||
            info.flatShape.empty() || info.flatGroup < 0 ||
            info.flatGroup > static_cast<int>(plan::CommGroup::MAX) ||
            info.shape[0] * info.flatShards < logical.numElements())
          return Status::error(fmt::format(
              "{} ({}) is a flat slice of {} that does not cover a tensor of "
              "shape [{}]",
              what, info.name, info.flatShards,
              fmt::join(info.flatShape, ", ")));
      }
      if (info.shards < 1 || info.shards > (int64_t(1) << 24) ||
          (info.shards > 1 &&
           (info.shape.empty() || (info.kind != TensorKind::Parameter &&
                                   info.kind != TensorKind::State))))
        return Status::error(fmt::format(
            "{} ({}) is split into {} shards, which only a parameter or "
            "state of rank 1 or more can be",
            what, info.name, info.shards));
      if (info.kind == TensorKind::Activation &&
          (info.offset < 0 || info.offset % 4 != 0 ||
           info.offset + info.numBytes() > result.arenaBytes))
        return Status::error(fmt::format(
            "{} ({}, {} bytes at offset {}) does not fit the arena of {} bytes",
            what, info.name, info.numBytes(), info.offset, result.arenaBytes));
      if (info.kind == TensorKind::Constant) {
        if (!t->data() ||
            static_cast<int64_t>(t->data()->size()) != info.numBytes())
          return Status::error(fmt::format(
              "{} is a constant whose data does not match its type {}", what,
              info.typeString()));
        info.data.assign(t->data()->begin(), t->data()->end());
      }
      result.tensors.push_back(std::move(info));
    }
    return Status();
  }

  Status readProgram(const plan::Program &fbProgram) {
    Program program;
    program.name = fbProgram.name()->str();
    program.arenaBytes = fbProgram.arena_bytes();
    for (const Program &other : result.programs)
      if (other.name == program.name)
        return Status::error("two programs are named " + program.name);
    if (fbProgram.ops())
      for (const plan::Op *op : *fbProgram.ops()) {
        OpInfo info;
        MOERT_RETURN_IF_ERROR(readOp(
            *op, fmt::format("{} op {}", program.name, program.ops.size()),
            info));
        program.ops.push_back(std::move(info));
      }
    MOERT_RETURN_IF_ERROR(
        readNamed(fbProgram.results(), "result", program.results));
    MOERT_RETURN_IF_ERROR(readExpertLoad(fbProgram, program));
    result.programs.push_back(std::move(program));
    return Status();
  }

  Status readOp(const plan::Op &op, std::string what, OpInfo &info) {
    info.kernel = op.kernel()->str();
    what += " (" + info.kernel + ")";
    if (op.inputs())
      for (int index : *op.inputs()) {
        MOERT_RETURN_IF_ERROR(checkIndex(index, what, /*optional=*/true));
        info.inputs.push_back(index);
      }
    if (op.outputs())
      for (int index : *op.outputs()) {
        MOERT_RETURN_IF_ERROR(checkIndex(index, what));
        TensorKind kind = result.tensors[index].kind;
        if (kind == TensorKind::Input || kind == TensorKind::Constant)
          return Status::error(fmt::format(
              "{} writes tensor {}, which is an input or a constant", what,
              index));
        info.outputs.push_back(index);
      }
    if (op.attrs())
      for (const plan::Attr *attr : *op.attrs()) {
        std::string key = attr->key()->str();
        if (info.attrs.count(key))
          return Status::error(
              fmt::format("{} has two attributes '{}'", what, key));
        if (auto *i = attr->value_as_IntAttr())
          info.setInt(key, i->value());
        else if (auto *f = attr->value_as_FloatAttr())
          info.setFloat(key, f->value());
        else if (auto *b = attr->value_as_BoolAttr())
          info.setBool(key, b->value());
        else
          return Status::error(fmt::format(
              "{}: attribute '{}' has no value of a known kind", what, key));
      }
    return Status();
  }

  Status readNamed(
      const flatbuffers::Vector<flatbuffers::Offset<plan::NamedTensor>> *list,
      const std::string &what, std::map<std::string, int, std::less<>> &into) {
    if (!list)
      return Status();
    for (const plan::NamedTensor *named : *list) {
      MOERT_RETURN_IF_ERROR(checkIndex(
          named->tensor(), fmt::format("{} '{}'", what, named->name()->str())));
      into[named->name()->str()] = named->tensor();
    }
    return Status();
  }

  Status readParameters() {
    if (!fb.parameters())
      return Status();
    for (const plan::Parameter *p : *fb.parameters()) {
      ParameterInfo info;
      info.name = p->name()->str();
      info.tensor = p->tensor();
      MOERT_RETURN_IF_ERROR(checkIndex(info.tensor, "parameter " + info.name));
      if (result.tensors[info.tensor].kind != TensorKind::Parameter ||
          result.tensors[info.tensor].dtype != DType::F32)
        return Status::error(fmt::format(
            "parameter {} is not an f32 parameter tensor", info.name));
      if (p->init() < plan::Init::MIN || p->init() > plan::Init::MAX)
        return Status::error(fmt::format(
            "parameter {} has an unknown initialisation", info.name));
      info.init = static_cast<Init>(p->init());
      info.layer = p->layer();
      result.parameters.push_back(std::move(info));
    }
    return Status();
  }

  Status readExpertLoad(const plan::Program &fbProgram, Program &program) {
    if (!fbProgram.expert_load())
      return Status();
    for (const plan::ExpertLoad *load : *fbProgram.expert_load()) {
      std::string what = fmt::format("expert load of layer {}", load->layer());
      MOERT_RETURN_IF_ERROR(checkIndex(load->indices(), what));
      MOERT_RETURN_IF_ERROR(checkIndex(load->keep(), what, /*optional=*/true));
      const TensorInfo &indices = result.tensors[load->indices()];
      if (indices.dtype != DType::I32 || indices.shape.size() != 2)
        return Status::error(fmt::format("{} names {} as its routing indices",
                                         what, indices.typeString()));
      if (load->keep() >= 0 &&
          result.tensors[load->keep()].shape != indices.shape)
        return Status::error(what + ": keep-mask and indices differ in shape");
      program.expertLoad.push_back(
          {load->layer(), load->indices(), load->keep(), load->drops()});
    }
    return Status();
  }

  Status readModel() {
    const plan::Model *model = fb.model();
    if (!model)
      return Status::error("the plan has no model description");
    ModelInfo &info = result.model;
    info.vocabSize = model->vocab_size();
    info.numLayers = model->num_layers();
    info.numExperts = model->num_experts();
    info.initMethodStd = model->init_method_std();
    info.seed = model->seed();
    info.configJson = model->config_json() ? model->config_json()->str() : "";
    const int64_t limit = int64_t(1) << 24;
    if (info.vocabSize < 1 || info.vocabSize > limit)
      return Status::error(fmt::format(
          "the model description has a vocabulary of {}", info.vocabSize));
    if (info.numLayers < 0 || info.numLayers > limit || info.numExperts < 0 ||
        info.numExperts > limit)
      return Status::error(
          fmt::format("the model description has {} layers and {} experts",
                      info.numLayers, info.numExperts));
    return Status();
  }

  Status readTraining() {
    const plan::Training *training = fb.training();
    if (!training)
      return Status::error("the plan has no training settings");
    TrainingInfo &info = result.training;
    info.seqLength = training->seq_length();
    info.microBatchSize = training->micro_batch_size();
    info.globalBatchSize = training->global_batch_size();
    info.microBatches = training->micro_batches();
    info.logInterval = training->log_interval();
    info.evalInterval = training->eval_interval();
    info.evalIters = training->eval_iters();
    info.saveInterval = training->save_interval();
    auto text = [](const flatbuffers::String *s) {
      return s ? s->str() : std::string();
    };
    info.save = text(training->save());
    info.tensorboardDir = text(training->tensorboard_dir());
    if (training->data_path())
      for (const flatbuffers::String *path : *training->data_path())
        info.dataPath.push_back(path->str());
    info.split = text(training->split());
    info.perLayerLogging = training->per_layer_logging();
    info.worldSize = training->world_size();
    info.expertParallelSize = training->expert_parallel_size();
    info.dataParallelSize = training->data_parallel_size()
                                ? training->data_parallel_size()
                                : info.worldSize;
    const int64_t limit = int64_t(1) << 24;
    if (info.worldSize < 1 || info.worldSize > limit ||
        info.expertParallelSize < 1 || info.worldSize % info.expertParallelSize)
      return Status::error(fmt::format(
          "the training settings have a world of {} ranks and an expert "
          "parallelism of {}, which must divide it",
          info.worldSize, info.expertParallelSize));
    if (info.dataParallelSize != info.worldSize &&
        info.dataParallelSize * info.expertParallelSize != info.worldSize)
      return Status::error(fmt::format(
          "the training settings have {} data-parallel ranks in a world of {} "
          "with expert parallelism {}",
          info.dataParallelSize, info.worldSize, info.expertParallelSize));
    if (info.seqLength < 1 || info.microBatchSize < 1 ||
        info.seqLength > limit || info.microBatchSize > limit)
      return Status::error(fmt::format(
          "the training settings have a sequence length of {} and a "
          "micro-batch of {}",
          info.seqLength, info.microBatchSize));
    if (info.microBatches < 1 || info.microBatches > limit ||
        info.globalBatchSize < 1 ||
        info.globalBatchSize % (info.microBatches * info.microBatchSize))
      return Status::error(fmt::format(
          "the training settings split a global batch of {} into {} "
          "micro-batches of {} per rank",
          info.globalBatchSize, info.microBatches, info.microBatchSize));
    for (auto [name, value] : {std::pair{"log_interval", info.logInterval},
                               {"eval_interval", info.evalInterval},
                               {"eval_iters", info.evalIters},
                               {"save_interval", info.saveInterval}})
      if (value < 0)
        return Status::error(fmt::format(
            "the training settings have a negative {} ({})", name, value));
    if (const plan::Schedule *schedule = training->schedule()) {
      ScheduleInfo &s = info.schedule;
      s.lr = schedule->lr();
      s.minLr = schedule->min_lr();
      s.warmupIters = schedule->warmup_iters();
      s.decayIters = schedule->decay_iters();
      if (schedule->decay_style() < plan::LRDecayStyle::MIN ||
          schedule->decay_style() > plan::LRDecayStyle::MAX)
        return Status::error("the learning-rate schedule has an unknown "
                             "decay style");
      s.decayStyle = static_cast<LRDecayStyle>(schedule->decay_style());
      if (s.warmupIters < 0 || s.decayIters < 0)
        return Status::error("the learning-rate schedule has a negative "
                             "number of iterations");
    }
    return Status();
  }

  /// Tensors split over ranks must be split over the plan's groups: the
  /// checkpoint code gathers and slices them by the launch's group sizes.
  Status checkLayouts() const {
    const TrainingInfo &t = result.training;
    int64_t sizes[] = {t.worldSize, t.expertParallelSize,
                       t.worldSize / t.expertParallelSize, t.worldSize};
    static_assert(static_cast<int>(plan::CommGroup::MAX) == 3);
    for (const TensorInfo &info : result.tensors) {
      if (info.shards != 1 && info.shards != t.expertParallelSize)
        return Status::error(fmt::format(
            "{} is split into {} expert shards, but the plan's expert "
            "parallelism is {}",
            info.name, info.shards, t.expertParallelSize));
      if (info.flatShards != 1 && info.flatShards != sizes[info.flatGroup])
        return Status::error(fmt::format(
            "{} is cut into {} flat slices over a group of {} ranks", info.name,
            info.flatShards, sizes[info.flatGroup]));
    }
    return Status();
  }

  /// The inputs the runtime fills and the results it reads must have the
  /// types it writes and reads.
  Status checkInterface() const {
    int64_t tokens = result.training.tokensPerMicroBatch();
    auto expect = [&](const std::map<std::string, int, std::less<>> &named,
                      const char *name, DType dtype,
                      const std::vector<int64_t> &shape) {
      auto it = named.find(name);
      if (it == named.end())
        return Status();
      const TensorInfo &t = result.tensors[it->second];
      if (t.dtype == dtype && t.shape == shape)
        return Status();
      TensorInfo want;
      want.dtype = dtype;
      want.shape = shape;
      return Status::error(fmt::format("'{}' is {}, expected {}", name,
                                       t.typeString(), want.typeString()));
    };
    for (const char *name : {names::tokens, names::labels, names::positions})
      MOERT_RETURN_IF_ERROR(expect(result.inputs, name, DType::I32, {tokens}));
    for (const char *name : {names::jitterSeed, names::step, names::trainIters})
      MOERT_RETURN_IF_ERROR(expect(result.inputs, name, DType::I64, {}));
    for (const Program &program : result.programs)
      for (const char *name : {names::lmLoss, names::auxLoss, names::zLoss,
                               names::lr, names::gradNorm})
        MOERT_RETURN_IF_ERROR(expect(program.results, name, DType::F32, {}));
    return Status();
  }

  const plan::Plan &fb;
  Plan result;
};

/// The version field of a plan of any version (it is the root table's first
/// field in all of them), or an error when not even that can be read.
StatusOr<uint32_t> readVersion(const std::vector<uint8_t> &bytes) {
  flatbuffers::Verifier verifier(bytes.data(), bytes.size());
  if (!verifier.VerifyOffset(0))
    return Status::error("the plan is truncated or corrupt");
  auto *root = flatbuffers::GetRoot<flatbuffers::Table>(bytes.data());
  if (!root->VerifyTableStart(verifier) ||
      !root->VerifyField<uint32_t>(verifier, plan::Plan::VT_VERSION,
                                   sizeof(uint32_t)))
    return Status::error("the plan is truncated or corrupt");
  return root->GetField<uint32_t>(plan::Plan::VT_VERSION, 0);
}

} // namespace

StatusOr<Plan> parsePlan(const std::vector<uint8_t> &bytes,
                         const std::string &name) {
  if (bytes.size() < 8 ||
      !flatbuffers::BufferHasIdentifier(bytes.data(), plan::PlanIdentifier()))
    return Status::error(
        fmt::format("{}: not a moe-compile plan (no '{}' identifier)", name,
                    plan::PlanIdentifier()));
  StatusOr<uint32_t> version = readVersion(bytes);
  if (!version.ok())
    return version.status().within(name);
  if (*version != planVersion())
    return Status::error(fmt::format(
        "{}: plan version {} cannot be run by this runtime, which reads "
        "version {}; recompile it with moe-compile",
        name, *version, planVersion()));
  flatbuffers::Verifier verifier(bytes.data(), bytes.size());
  if (!plan::VerifyPlanBuffer(verifier))
    return Status::error(name + ": the plan is truncated or corrupt");
  StatusOr<Plan> plan = PlanReader(*plan::GetPlan(bytes.data())).read();
  if (!plan.ok())
    return plan.status().within(name);
  plan->digest = 0x9e3779b97f4a7c15ull;
  for (uint8_t byte : bytes)
    plan->digest = splitMix64(plan->digest ^ byte);
  return plan;
}

StatusOr<Plan> loadPlan(const std::string &path) {
  std::ifstream file(path, std::ios::binary);
  if (!file)
    return Status::error(path + ": cannot open the plan");
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(file)),
                             std::istreambuf_iterator<char>());
  return parsePlan(bytes, path);
}

} // namespace moert
