//===- Weights.cpp - parameters: initialisation and safetensors -----------===//

#include "moert/Weights.h"
#include "moert/PlanNames.h"

#include "AtomicFile.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <random>

namespace moert {

namespace {

/// One tensor of the file: a whole plan tensor, or one expert's slice of a
/// stacked [E, ...] one, `offset` elements into it.
struct FileTensor {
  std::string name;
  std::vector<int64_t> shape;
  int64_t offset;
  int64_t elements;
};

/// The file tensors of `t`, named `tensorName`, whose expert e is the
/// global expert `firstExpert + e`.
std::vector<FileTensor> fileTensors(const TensorInfo &t,
                                    const std::string &tensorName,
                                    int64_t firstExpert) {
  std::string placeholder = names::expertPlaceholder;
  size_t at = tensorName.find(placeholder);
  if (at == std::string::npos || t.shape.size() < 2)
    return {{tensorName, t.shape, 0, t.numElements()}};
  std::vector<FileTensor> slices;
  std::vector<int64_t> slice(t.shape.begin() + 1, t.shape.end());
  int64_t sliceElements = t.numElements() / t.shape[0];
  for (int64_t e = 0; e < t.shape[0]; ++e) {
    std::string name = tensorName;
    name.replace(at, placeholder.size(), std::to_string(firstExpert + e));
    slices.push_back({name, slice, e * sliceElements, sliceElements});
  }
  return slices;
}

/// The first global expert of this rank's shard of `t` (0 when unsharded).
int64_t firstExpertOf(const Device &device, const TensorInfo &t) {
  if (t.shards == 1)
    return 0;
  return device.communicator().group(Group::EP).index * t.shape[0];
}

/// What a flat slice of the distributed optimizer stands for on this rank:
/// the tensor of its parameter's shape; any other tensor is itself.
TensorInfo unflattened(const TensorInfo &t) {
  if (t.flatShards <= 1)
    return t;
  TensorInfo logical = t;
  logical.shape = t.flatShape;
  logical.flatShards = 1;
  return logical;
}

/// `t` as a whole: a shard's global shape.
TensorInfo wholeOf(const TensorInfo &t) {
  TensorInfo whole = t;
  whole.shape[0] *= t.shards;
  whole.shards = 1;
  return whole;
}

/// A standard normal from two uniforms (Box-Muller), the same on every
/// platform for the same generator state.
double standardNormal(std::mt19937_64 &gen) {
  double u1 = ((gen() >> 11) + 1.0) * 0x1.0p-53;
  double u2 = (gen() >> 11) * 0x1.0p-53;
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}

float bf16ToFloat(uint16_t bits) {
  uint32_t wide = static_cast<uint32_t>(bits) << 16;
  float value;
  std::memcpy(&value, &wide, sizeof(value));
  return value;
}

float f16ToFloat(uint16_t bits) {
  uint32_t sign = (bits >> 15) & 1, exponent = (bits >> 10) & 0x1f,
           mantissa = bits & 0x3ff;
  float magnitude;
  if (exponent == 0)
    magnitude = std::ldexp(static_cast<float>(mantissa), -24);
  else if (exponent == 31)
    magnitude = mantissa ? NAN : INFINITY;
  else
    magnitude = std::ldexp(static_cast<float>(mantissa | 0x400), exponent - 25);
  return sign ? -magnitude : magnitude;
}

} // namespace

std::string fileTensorName(const Device &device, int index,
                           const std::string &name, int64_t element) {
  const TensorInfo &t = device.plan().tensors[index];
  for (const FileTensor &file : fileTensors(t, name, firstExpertOf(device, t)))
    if (element >= file.offset && element < file.offset + file.elements)
      return file.name;
  return name;
}

NamedTensors parameterTensors(const Plan &plan) {
  NamedTensors named;
  for (const ParameterInfo &param : plan.parameters)
    named.emplace_back(param.name, param.tensor);
  return named;
}

NamedTensors optimizerTensors(const Plan &plan) {
  NamedTensors named;
  for (const auto &[name, index] : plan.states)
    if (name.rfind(names::expAvgPrefix, 0) == 0 ||
        name.rfind(names::expAvgSqPrefix, 0) == 0)
      named.emplace_back(name, index);
  return named;
}

Status initializeParameters(Device &device, uint64_t seed) {
  const Plan &plan = device.plan();
  std::mt19937_64 gen(seed);
  double std = plan.model.initMethodStd;
  double scaled =
      std / std::sqrt(2.0 * std::max<int64_t>(1, plan.model.numLayers));
  std::vector<float> data;
  for (const ParameterInfo &param : plan.parameters) {
    // A shard draws the whole tensor and keeps its slice: the same values
    // for any expert parallelism.
    const TensorInfo &t = plan.tensors[param.tensor];
    data.resize(t.numElements() * t.shards);
    switch (param.init) {
    case Init::Ones:
      std::fill(data.begin(), data.end(), 1.0f);
      break;
    case Init::Zeros:
      std::fill(data.begin(), data.end(), 0.0f);
      break;
    case Init::Normal:
    case Init::ScaledNormal: {
      double sigma = param.init == Init::Normal ? std : scaled;
      for (float &value : data)
        value = static_cast<float>(sigma * standardNormal(gen));
      break;
    }
    }
    int64_t first = firstExpertOf(device, t);
    MOERT_RETURN_IF_ERROR(device.write(
        param.tensor,
        data.data() +
            (t.shards > 1 ? first * (t.numElements() / t.shape[0]) : 0)));
  }
  return Status();
}

Status writeSafetensors(const std::string &path,
                        const std::vector<SafetensorsEntry> &tensors) {
  nlohmann::ordered_json header;
  header["__metadata__"] = {{"format", "pt"}};
  std::vector<int64_t> sizes;
  int64_t offset = 0;
  for (const SafetensorsEntry &t : tensors) {
    int64_t elements = 1;
    for (int64_t d : t.shape)
      elements *= d;
    sizes.push_back(elements * static_cast<int64_t>(dtypeSize(t.dtype)));
    const char *dtype = t.dtype == DType::F32   ? "F32"
                        : t.dtype == DType::I32 ? "I32"
                        : t.dtype == DType::I64 ? "I64"
                                                : "BOOL";
    header[t.name] = {{"dtype", dtype},
                      {"shape", t.shape},
                      {"data_offsets", {offset, offset + sizes.back()}}};
    offset += sizes.back();
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');

  uint64_t headerSize = text.size();
  std::vector<std::string_view> pieces = {
      {reinterpret_cast<const char *>(&headerSize), 8}, text};
  for (size_t i = 0; i < tensors.size(); ++i)
    pieces.emplace_back(static_cast<const char *>(tensors[i].data), sizes[i]);
  return writeFileAtomically(path, pieces);
}

Status saveSafetensors(Device &device, const std::string &path,
                       const NamedTensors &named) {
  const Plan &plan = device.plan();
  Communicator &comm = device.communicator();
  std::vector<std::vector<float>> copies;
  std::vector<SafetensorsEntry> entries;
  for (const auto &[tensorName, index] : named) {
    const TensorInfo &stored = plan.tensors[index];
    StatusOr<std::vector<float>> copy = device.read<float>(index);
    if (!copy.ok())
      return copy.status();
    if (stored.flatShards > 1) {
      // The holders' slices, in order, are the flat tensor and its padding.
      std::vector<float> flat(copy->size() * stored.flatShards);
      MOERT_RETURN_IF_ERROR(comm.allGather(static_cast<Group>(stored.flatGroup),
                                           copy->data(), flat.data(),
                                           stored.numBytes()));
      flat.resize(unflattened(stored).numElements());
      *copy = std::move(flat);
    }
    TensorInfo t = unflattened(stored);
    if (t.shards > 1) {
      // The ep group's shards, in member order, are the experts in order.
      std::vector<float> whole(copy->size() * t.shards);
      MOERT_RETURN_IF_ERROR(
          comm.allGather(Group::EP, copy->data(), whole.data(), t.numBytes()));
      *copy = std::move(whole);
    }
    copies.push_back(std::move(*copy));
    for (const FileTensor &file : fileTensors(wholeOf(t), tensorName, 0))
      entries.push_back({file.name, DType::F32, file.shape,
                         copies.back().data() + file.offset});
  }
  // Every rank holds the whole model now; the first one writes it.
  if (comm.rank() != 0)
    return Status();
  return writeSafetensors(path, entries);
}

namespace {

/// Reads file tensor `t` of an open safetensors file into `out` as f32.
Status readFileTensor(std::ifstream &file, const std::string &path,
                      const nlohmann::json &header, int64_t dataStart,
                      int64_t fileSize, const FileTensor &t, float *out) {
  auto entry = header.find(t.name);
  if (entry == header.end())
    return Status::error(
        fmt::format("{}: tensor '{}' is missing", path, t.name));
  const nlohmann::json &desc = *entry;
  auto isIntList = [](const nlohmann::json &list) {
    return list.is_array() &&
           std::all_of(list.begin(), list.end(), [](const nlohmann::json &v) {
             return v.is_number_integer();
           });
  };
  if (!desc.is_object() || !desc.contains("dtype") ||
      !desc["dtype"].is_string() || !desc.contains("shape") ||
      !isIntList(desc["shape"]) || !desc.contains("data_offsets") ||
      !isIntList(desc["data_offsets"]))
    return Status::error(
        fmt::format("{}: tensor '{}' has a malformed description (dtype, "
                    "shape, data_offsets)",
                    path, t.name));
  std::string dtype = desc["dtype"].get<std::string>();
  std::vector<int64_t> shape = desc["shape"].get<std::vector<int64_t>>();
  std::vector<int64_t> offsets =
      desc["data_offsets"].get<std::vector<int64_t>>();
  if (shape != t.shape)
    return Status::error(fmt::format(
        "{}: tensor '{}' has shape [{}], the model needs [{}]", path, t.name,
        fmt::join(shape, ", "), fmt::join(t.shape, ", ")));
  int64_t elementBytes = dtype == "F32"                        ? 4
                         : (dtype == "BF16" || dtype == "F16") ? 2
                                                               : 0;
  if (!elementBytes)
    return Status::error(
        fmt::format("{}: tensor '{}' is {}; expected F32, BF16 or F16", path,
                    t.name, dtype));
  if (offsets.size() != 2 ||
      offsets[1] - offsets[0] != t.elements * elementBytes || offsets[0] < 0 ||
      dataStart + offsets[1] > fileSize)
    return Status::error(
        fmt::format("{}: tensor '{}' has data offsets outside the file or of "
                    "the wrong size",
                    path, t.name));
  file.seekg(dataStart + offsets[0]);
  if (elementBytes == 4) {
    file.read(reinterpret_cast<char *>(out), t.elements * 4);
  } else {
    std::vector<uint16_t> half(t.elements);
    file.read(reinterpret_cast<char *>(half.data()), t.elements * 2);
    for (int64_t i = 0; i < t.elements; ++i)
      out[i] = dtype == "BF16" ? bf16ToFloat(half[i]) : f16ToFloat(half[i]);
  }
  if (!file)
    return Status::error(
        fmt::format("{}: tensor '{}' is truncated", path, t.name));
  return Status();
}

} // namespace

Status loadSafetensors(Device &device, const std::string &path,
                       const NamedTensors &named) {
  std::ifstream file(path, std::ios::binary);
  if (!file)
    return Status::error(path + ": cannot open the checkpoint");
  file.seekg(0, std::ios::end);
  int64_t fileSize = file.tellg();
  file.seekg(0);
  uint64_t headerSize = 0;
  if (fileSize < 8 || !file.read(reinterpret_cast<char *>(&headerSize), 8) ||
      headerSize > static_cast<uint64_t>(fileSize - 8))
    return Status::error(path + ": not a safetensors file (bad header size)");
  std::string text(headerSize, '\0');
  file.read(text.data(), headerSize);
  nlohmann::json header = nlohmann::json::parse(text, nullptr, false);
  if (header.is_discarded() || !header.is_object())
    return Status::error(path + ": not a safetensors file (bad JSON header)");
  int64_t dataStart = 8 + static_cast<int64_t>(headerSize);

  const Plan &plan = device.plan();
  std::vector<float> data;
  for (const auto &[tensorName, index] : named) {
    const TensorInfo &stored = plan.tensors[index];
    TensorInfo tensor = unflattened(stored);
    // A flat slice reads its parameter's shape, then keeps its own slice.
    data.assign(std::max(tensor.numElements(),
                         stored.numElements() * stored.flatShards),
                0.0f);
    for (const FileTensor &t :
         fileTensors(tensor, tensorName, firstExpertOf(device, tensor)))
      MOERT_RETURN_IF_ERROR(readFileTensor(
          file, path, header, dataStart, fileSize, t, data.data() + t.offset));
    int64_t slice = 0;
    if (stored.flatShards > 1)
      slice = device.communicator()
                  .group(static_cast<Group>(stored.flatGroup))
                  .index *
              stored.numElements();
    MOERT_RETURN_IF_ERROR(device.write(index, data.data() + slice));
  }
  return Status();
}

} // namespace moert
