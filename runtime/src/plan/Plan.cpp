//===- Plan.cpp - loading and verifying a plan ----------------------------===//

#include "moert/Plan.h"

#include "plan_generated.h"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <sstream>

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
  std::ostringstream os;
  os << "tensor<";
  for (int64_t dim : shape)
    os << dim << "x";
  os << dtypeName(dtype) << ">";
  return os.str();
}

const Program *Plan::program(const std::string &name) const {
  for (const Program &p : programs)
    if (p.name == name)
      return &p;
  return nullptr;
}

uint32_t planVersion() {
  return static_cast<uint32_t>(plan::PlanVersion::Current);
}

namespace {

/// Reads the flatbuffer into plain structures, checking what the schema
/// verifier cannot: ranges, indices and sizes.
class PlanReader {
public:
  explicit PlanReader(const plan::Plan &fb) : fb(fb) {}

  StatusOr<Plan> read() {
    if (fb.version() != planVersion())
      return Status::error(
          "plan version " + std::to_string(fb.version()) +
          " cannot be run by this runtime, which reads version " +
          std::to_string(planVersion()) + "; recompile it with moe-compile");
    if (!fb.programs() || fb.programs()->size() == 0)
      return Status::error("the plan has no program");
    for (const plan::Program *program : *fb.programs()) {
      if (program->arena_bytes() < 0)
        return Status::error("program " + program->name()->str() +
                             " has a negative arena size");
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
        return Status::error("state " + name + " is not an f32 state tensor");
    MOERT_RETURN_IF_ERROR(readParameters());
    return readModel();
  }

private:
  Status checkIndex(int index, const std::string &what,
                    bool optional = false) const {
    if (optional && index == -1)
      return Status();
    if (index < 0 || index >= static_cast<int>(result.tensors.size()))
      return Status::error(what + " refers to tensor " + std::to_string(index) +
                           ", but the plan has " +
                           std::to_string(result.tensors.size()));
    return Status();
  }

  Status readTensors() {
    if (!fb.tensors())
      return Status::error("the plan has no tensor table");
    for (const plan::Tensor *t : *fb.tensors()) {
      TensorInfo info;
      std::string what = "tensor " + std::to_string(result.tensors.size());
      info.name = t->name() ? t->name()->str() : "";
      if (t->dtype() < plan::DType::MIN || t->dtype() > plan::DType::MAX)
        return Status::error(what + " has an unknown element type");
      info.dtype = static_cast<DType>(t->dtype());
      if (t->kind() < plan::TensorKind::MIN ||
          t->kind() > plan::TensorKind::MAX)
        return Status::error(what + " has an unknown kind");
      info.kind = static_cast<TensorKind>(t->kind());
      if (t->shape()) {
        for (int64_t dim : *t->shape()) {
          if (dim < 0 || dim > (int64_t(1) << 40))
            return Status::error(what + " has a dimension of " +
                                 std::to_string(dim));
          info.shape.push_back(dim);
        }
      }
      info.offset = t->offset();
      if (info.kind == TensorKind::Activation &&
          (info.offset < 0 || info.offset % 4 != 0 ||
           info.offset + info.numBytes() > result.arenaBytes))
        return Status::error(what + " (" + info.name + ", " +
                             std::to_string(info.numBytes()) +
                             " bytes at offset " + std::to_string(info.offset) +
                             ") does not fit the arena of " +
                             std::to_string(result.arenaBytes) + " bytes");
      if (info.kind == TensorKind::Constant) {
        if (!t->data() ||
            static_cast<int64_t>(t->data()->size()) != info.numBytes())
          return Status::error(what +
                               " is a constant whose data does not "
                               "match its type " +
                               info.typeString());
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
            *op, program.name + " op " + std::to_string(program.ops.size()),
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
          return Status::error(what + " writes tensor " +
                               std::to_string(index) +
                               ", which is an input or a constant");
        info.outputs.push_back(index);
      }
    if (op.attrs())
      for (const plan::Attr *attr : *op.attrs()) {
        info.intAttrs[attr->key()->str()] = attr->int_value();
        info.floatAttrs[attr->key()->str()] = attr->float_value();
      }
    return Status();
  }

  Status readNamed(
      const flatbuffers::Vector<flatbuffers::Offset<plan::NamedTensor>> *list,
      const std::string &what, std::map<std::string, int> &into) {
    if (!list)
      return Status();
    for (const plan::NamedTensor *named : *list) {
      MOERT_RETURN_IF_ERROR(checkIndex(
          named->tensor(), what + " '" + named->name()->str() + "'"));
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
        return Status::error("parameter " + info.name +
                             " is not an f32 parameter tensor");
      if (p->init() < plan::Init::MIN || p->init() > plan::Init::MAX)
        return Status::error("parameter " + info.name +
                             " has an unknown initialisation");
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
      std::string what =
          "expert load of layer " + std::to_string(load->layer());
      MOERT_RETURN_IF_ERROR(checkIndex(load->indices(), what));
      MOERT_RETURN_IF_ERROR(checkIndex(load->keep(), what, /*optional=*/true));
      const TensorInfo &indices = result.tensors[load->indices()];
      if (indices.dtype != DType::I32 || indices.shape.size() != 2)
        return Status::error(what + " names " + indices.typeString() +
                             " as its routing indices");
      if (load->keep() >= 0 &&
          result.tensors[load->keep()].shape != indices.shape)
        return Status::error(what + ": keep-mask and indices differ in shape");
      program.expertLoad.push_back(
          {load->layer(), load->indices(), load->keep()});
    }
    return Status();
  }

  StatusOr<Plan> readModel() {
    const plan::Model *model = fb.model();
    if (!model)
      return Status::error("the plan has no model description");
    ModelInfo &info = result.model;
    info.seqLength = model->seq_length();
    info.microBatchSize = model->micro_batch_size();
    info.vocabSize = model->vocab_size();
    info.numLayers = model->num_layers();
    info.numExperts = model->num_experts();
    info.initMethodStd = model->init_method_std();
    info.seed = model->seed();
    info.configJson = model->config_json() ? model->config_json()->str() : "";
    const int64_t limit = int64_t(1) << 24;
    if (info.seqLength < 1 || info.microBatchSize < 1 || info.vocabSize < 1 ||
        info.seqLength > limit || info.microBatchSize > limit ||
        info.vocabSize > limit)
      return Status::error("the model description has no usable sequence "
                           "length, micro-batch size or vocabulary");
    if (info.numLayers < 0 || info.numLayers > limit || info.numExperts < 0 ||
        info.numExperts > limit)
      return Status::error("the model description has " +
                           std::to_string(info.numLayers) + " layers and " +
                           std::to_string(info.numExperts) + " experts");
    MOERT_RETURN_IF_ERROR(checkInterface());
    return std::move(result);
  }

  /// The inputs the runtime fills and the results it reads must have the
  /// types it writes and reads.
  Status checkInterface() const {
    int64_t tokens = result.model.seqLength * result.model.microBatchSize;
    auto expect = [&](const std::map<std::string, int> &named,
                      const std::string &name, DType dtype,
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
      return Status::error("'" + name + "' is " + t.typeString() +
                           ", expected " + want.typeString());
    };
    for (const char *name : {"tokens", "labels", "positions"})
      MOERT_RETURN_IF_ERROR(expect(result.inputs, name, DType::I32, {tokens}));
    MOERT_RETURN_IF_ERROR(expect(result.inputs, "jitter_seed", DType::I64, {}));
    MOERT_RETURN_IF_ERROR(expect(result.inputs, "step", DType::I64, {}));
    for (const Program &program : result.programs)
      for (const char *name :
           {"lm_loss", "aux_loss", "z_loss", "lr", "grad_norm"})
        MOERT_RETURN_IF_ERROR(expect(program.results, name, DType::F32, {}));
    return Status();
  }

  const plan::Plan &fb;
  Plan result;
};

} // namespace

StatusOr<Plan> parsePlan(const std::vector<uint8_t> &bytes,
                         const std::string &name) {
  if (bytes.size() < 8 ||
      !flatbuffers::BufferHasIdentifier(bytes.data(), plan::PlanIdentifier()))
    return Status::error(name + ": not a moe-compile plan (no '" +
                         std::string(plan::PlanIdentifier()) + "' identifier)");
  flatbuffers::Verifier verifier(bytes.data(), bytes.size());
  if (!plan::VerifyPlanBuffer(verifier))
    return Status::error(name + ": the plan is truncated or corrupt");
  StatusOr<Plan> plan = PlanReader(*plan::GetPlan(bytes.data())).read();
  if (!plan.ok())
    return plan.status().within(name);
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
