//===- Weights.cpp - parameters: initialisation and safetensors -----------===//

#include "moert/Weights.h"

#include "AtomicFile.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <random>

namespace moert {

namespace {

const std::string expertPlaceholder = "{expert}";

/// One tensor of the file: a whole parameter, or one expert's slice of a
/// stacked parameter.
struct FileTensor {
  std::string name;
  std::vector<int64_t> shape;
  float *data;
  int64_t elements;
};

std::vector<FileTensor> fileTensors(cpu::Executor &executor,
                                    const NamedTensors &named) {
  std::vector<FileTensor> result;
  const Plan &plan = executor.plan();
  for (const auto &[tensorName, index] : named) {
    const TensorInfo &t = plan.tensors[index];
    float *data = executor.dataAs<float>(index);
    size_t at = tensorName.find(expertPlaceholder);
    if (at == std::string::npos || t.shape.size() < 2) {
      result.push_back({tensorName, t.shape, data, t.numElements()});
      continue;
    }
    std::vector<int64_t> slice(t.shape.begin() + 1, t.shape.end());
    int64_t sliceElements = t.numElements() / t.shape[0];
    for (int64_t e = 0; e < t.shape[0]; ++e) {
      std::string name = tensorName;
      name.replace(at, expertPlaceholder.size(), std::to_string(e));
      result.push_back({name, slice, data + e * sliceElements, sliceElements});
    }
  }
  return result;
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

NamedTensors parameterTensors(const Plan &plan) {
  NamedTensors named;
  for (const ParameterInfo &param : plan.parameters)
    named.emplace_back(param.name, param.tensor);
  return named;
}

NamedTensors optimizerTensors(const Plan &plan) {
  NamedTensors named;
  for (const auto &[name, index] : plan.states)
    if (name.rfind("exp_avg", 0) == 0)
      named.emplace_back(name, index);
  return named;
}

void initializeParameters(cpu::Executor &executor, uint64_t seed) {
  const Plan &plan = executor.plan();
  std::mt19937_64 gen(seed);
  double std = plan.model.initMethodStd;
  double scaled =
      std / std::sqrt(2.0 * std::max<int64_t>(1, plan.model.numLayers));
  for (const ParameterInfo &param : plan.parameters) {
    float *data = executor.dataAs<float>(param.tensor);
    int64_t n = plan.tensors[param.tensor].numElements();
    switch (param.init) {
    case Init::Ones:
      std::fill(data, data + n, 1.0f);
      break;
    case Init::Zeros:
      std::fill(data, data + n, 0.0f);
      break;
    case Init::Normal:
    case Init::ScaledNormal: {
      double sigma = param.init == Init::Normal ? std : scaled;
      for (int64_t i = 0; i < n; ++i)
        data[i] = static_cast<float>(sigma * standardNormal(gen));
      break;
    }
    }
  }
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

Status saveSafetensors(cpu::Executor &executor, const std::string &path,
                       const NamedTensors &named) {
  std::vector<SafetensorsEntry> entries;
  for (const FileTensor &t : fileTensors(executor, named))
    entries.push_back({t.name, DType::F32, t.shape, t.data});
  return writeSafetensors(path, entries);
}

Status loadSafetensors(cpu::Executor &executor, const std::string &path,
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

  for (const FileTensor &t : fileTensors(executor, named)) {
    auto entry = header.find(t.name);
    if (entry == header.end())
      return Status::error(path + ": tensor '" + t.name + "' is missing");
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
      return Status::error(path + ": tensor '" + t.name +
                           "' has a malformed description (dtype, shape, "
                           "data_offsets)");
    std::string dtype = desc["dtype"].get<std::string>();
    std::vector<int64_t> shape = desc["shape"].get<std::vector<int64_t>>();
    std::vector<int64_t> offsets =
        desc["data_offsets"].get<std::vector<int64_t>>();
    if (shape != t.shape) {
      std::string want, got;
      for (int64_t d : t.shape)
        want += (want.empty() ? "" : ", ") + std::to_string(d);
      for (int64_t d : shape)
        got += (got.empty() ? "" : ", ") + std::to_string(d);
      return Status::error(path + ": tensor '" + t.name + "' has shape [" +
                           got + "], the model needs [" + want + "]");
    }
    int64_t elementBytes = dtype == "F32"                        ? 4
                           : (dtype == "BF16" || dtype == "F16") ? 2
                                                                 : 0;
    if (!elementBytes)
      return Status::error(path + ": tensor '" + t.name + "' is " + dtype +
                           "; expected F32, BF16 or F16");
    if (offsets.size() != 2 ||
        offsets[1] - offsets[0] != t.elements * elementBytes ||
        offsets[0] < 0 || dataStart + offsets[1] > fileSize)
      return Status::error(path + ": tensor '" + t.name +
                           "' has data offsets outside the file or of the "
                           "wrong size");
    file.seekg(dataStart + offsets[0]);
    if (elementBytes == 4) {
      file.read(reinterpret_cast<char *>(t.data), t.elements * 4);
    } else {
      std::vector<uint16_t> half(t.elements);
      file.read(reinterpret_cast<char *>(half.data()), t.elements * 2);
      for (int64_t i = 0; i < t.elements; ++i)
        t.data[i] =
            dtype == "BF16" ? bf16ToFloat(half[i]) : f16ToFloat(half[i]);
    }
    if (!file)
      return Status::error(path + ": tensor '" + t.name + "' is truncated");
  }
  return Status();
}

} // namespace moert
