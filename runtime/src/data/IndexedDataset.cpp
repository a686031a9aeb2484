//===- IndexedDataset.cpp - Megatron indexed datasets ---------------------===//

#include "moert/Data.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <numeric>
#include <random>
#include <sstream>

namespace moert::data {

namespace {

const char magic[9] = {'M', 'M', 'I', 'D', 'I', 'D', 'X', 0, 0};

int elementSize(int code) {
  switch (code) {
  case 1:
  case 2:
    return 1;
  case 3:
  case 8:
    return 2;
  case 4:
    return 4;
  case 5:
    return 8;
  default:
    return 0;
  }
}

int64_t readElement(const uint8_t *p, int code) {
  switch (code) {
  case 1:
    return *p;
  case 2:
    return static_cast<int8_t>(*p);
  case 3: {
    int16_t v;
    std::memcpy(&v, p, 2);
    return v;
  }
  case 8: {
    uint16_t v;
    std::memcpy(&v, p, 2);
    return v;
  }
  case 4: {
    int32_t v;
    std::memcpy(&v, p, 4);
    return v;
  }
  default: {
    int64_t v;
    std::memcpy(&v, p, 8);
    return v;
  }
  }
}

/// Reads little-endian values from the index, failing past its end.
class Reader {
public:
  explicit Reader(const std::vector<uint8_t> &bytes) : bytes(bytes) {}
  template <typename T> bool read(T &value) {
    if (at + sizeof(T) > bytes.size())
      return false;
    std::memcpy(&value, bytes.data() + at, sizeof(T));
    at += sizeof(T);
    return true;
  }
  template <typename T> bool readArray(std::vector<T> &values, uint64_t count) {
    if (count > (bytes.size() - at) / sizeof(T))
      return false;
    values.resize(count);
    if (count > 0) // an empty vector's data() may be null
      std::memcpy(values.data(), bytes.data() + at, count * sizeof(T));
    at += count * sizeof(T);
    return true;
  }
  size_t position() const { return at; }

private:
  const std::vector<uint8_t> &bytes;
  size_t at = 0;
};

StatusOr<std::vector<uint8_t>> readWhole(const std::string &path) {
  std::ifstream file(path, std::ios::binary);
  if (!file)
    return Status::error(path + ": cannot open");
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(file)),
                              std::istreambuf_iterator<char>());
}

} // namespace

StatusOr<IndexedDataset> IndexedDataset::open(const std::string &prefix) {
  std::string idxPath = prefix + ".idx", binPath = prefix + ".bin";
  StatusOr<std::vector<uint8_t>> idx = readWhole(idxPath);
  if (!idx.ok())
    return idx.status();
  Reader reader(*idx);
  char header[9];
  for (char &c : header)
    if (!reader.read(c))
      return Status::error(idxPath + ": too short for an index header");
  if (std::memcmp(header, magic, 9) != 0)
    return Status::error(idxPath + ": not a Megatron index (no MMIDIDX magic)");
  uint64_t version = 0, numSequences = 0, numDocIndices = 0;
  uint8_t code = 0;
  if (!reader.read(version) || !reader.read(code) ||
      !reader.read(numSequences) || !reader.read(numDocIndices))
    return Status::error(idxPath + ": the header is truncated");
  if (version != 1)
    return Status::error(
        fmt::format("{}: index version {}, expected 1", idxPath, version));
  if (!elementSize(code))
    return Status::error(
        fmt::format("{}: unknown token type code {}", idxPath, code));
  IndexedDataset dataset;
  dataset.dtypeCode = code;
  if (!reader.readArray(dataset.sizes, numSequences) ||
      !reader.readArray(dataset.pointers, numSequences) ||
      !reader.readArray(dataset.documentStarts, numDocIndices))
    return Status::error(fmt::format(
        "{}: truncated: the header announces {} sequences and {} document "
        "indices",
        idxPath, numSequences, numDocIndices));
  if (dataset.documentStarts.empty() || dataset.documentStarts.front() != 0 ||
      dataset.documentStarts.back() != static_cast<int64_t>(numSequences) ||
      !std::is_sorted(dataset.documentStarts.begin(),
                      dataset.documentStarts.end()))
    return Status::error(idxPath + ": the document index does not run from 0 "
                                   "to the number of sequences");

  StatusOr<std::vector<uint8_t>> bin = readWhole(binPath);
  if (!bin.ok())
    return bin.status();
  int64_t width = elementSize(code);
  for (uint64_t i = 0; i < numSequences; ++i) {
    if (dataset.sizes[i] < 0 || dataset.pointers[i] < 0 ||
        dataset.pointers[i] + dataset.sizes[i] * width >
            static_cast<int64_t>(bin->size()))
      return Status::error(
          fmt::format("{}: sequence {} lies outside {} ({} bytes)", idxPath, i,
                      binPath, bin->size()));
  }
  dataset.bin = std::make_shared<std::vector<uint8_t>>(std::move(*bin));
  return dataset;
}

std::vector<int32_t> IndexedDataset::document(size_t doc) const {
  std::vector<int32_t> tokens;
  int64_t width = elementSize(dtypeCode);
  for (int64_t s = documentStarts[doc]; s < documentStarts[doc + 1]; ++s)
    for (int64_t i = 0; i < sizes[s]; ++i)
      tokens.push_back(static_cast<int32_t>(
          readElement(bin->data() + pointers[s] + i * width, dtypeCode)));
  return tokens;
}

void IndexedDatasetWriter::addDocument(const std::vector<int32_t> &tokens) {
  sizes.push_back(static_cast<int32_t>(tokens.size()));
  int width = elementSize(dtypeCode);
  for (int32_t token : tokens) {
    int64_t wide = token;
    uint8_t bytes[8];
    std::memcpy(bytes, &wide, 8); // little-endian: the low bytes come first
    bin.insert(bin.end(), bytes, bytes + width);
  }
}

Status IndexedDatasetWriter::write(const std::string &prefix) const {
  std::string idxPath = prefix + ".idx", binPath = prefix + ".bin";
  std::ofstream binFile(binPath, std::ios::binary | std::ios::trunc);
  binFile.write(reinterpret_cast<const char *>(bin.data()), bin.size());
  if (!binFile)
    return Status::error(binPath + ": cannot write");
  std::ofstream idx(idxPath, std::ios::binary | std::ios::trunc);
  auto put = [&idx](const void *data, size_t size) {
    idx.write(static_cast<const char *>(data), size);
  };
  uint64_t version = 1, count = sizes.size(), docCount = sizes.size() + 1;
  uint8_t code = static_cast<uint8_t>(dtypeCode);
  put(magic, 9);
  put(&version, 8);
  put(&code, 1);
  put(&count, 8);
  put(&docCount, 8);
  put(sizes.data(), sizes.size() * 4);
  int64_t pointer = 0;
  for (int32_t size : sizes) {
    put(&pointer, 8);
    pointer += static_cast<int64_t>(size) * elementSize(dtypeCode);
  }
  for (int64_t doc = 0; doc <= static_cast<int64_t>(sizes.size()); ++doc)
    put(&doc, 8);
  if (!idx)
    return Status::error(idxPath + ": cannot write");
  return Status();
}

int dtypeCodeFor(int64_t vocabSize) { return vocabSize < 65500 ? 8 : 4; }

StatusOr<std::array<std::pair<size_t, size_t>, 3>>
splitDocuments(const std::string &weights, size_t numDocuments) {
  std::vector<double> parts;
  std::string field;
  std::string text = weights;
  for (char &c : text)
    if (c == '/')
      c = ',';
  std::stringstream stream(text);
  while (std::getline(stream, field, ',')) {
    char *end = nullptr;
    double value = std::strtod(field.c_str(), &end);
    if (field.empty() || *end != '\0' || value < 0 || !std::isfinite(value))
      return Status::error("--split '" + weights +
                           "': expected non-negative weights such as "
                           "99990,8,2");
    parts.push_back(value);
  }
  while (parts.size() < 3)
    parts.push_back(0.0);
  parts.resize(3);
  double total = parts[0] + parts[1] + parts[2];
  if (total <= 0)
    return Status::error("--split '" + weights + "': the weights sum to 0");
  // As Megatron: cumulative boundaries rounded as Python rounds (half to
  // even, which nearbyint does in the default rounding mode), shifted so the
  // last one is exactly the number of documents.
  std::array<int64_t, 4> bounds = {0, 0, 0, 0};
  for (int i = 0; i < 3; ++i)
    bounds[i + 1] =
        bounds[i] +
        static_cast<int64_t>(std::nearbyint(parts[i] / total * numDocuments));
  int64_t diff = bounds[3] - static_cast<int64_t>(numDocuments);
  for (int i = 1; i < 4; ++i)
    bounds[i] -= diff;
  std::array<std::pair<size_t, size_t>, 3> ranges;
  for (int i = 0; i < 3; ++i)
    ranges[i] = {static_cast<size_t>(std::max<int64_t>(0, bounds[i])),
                 static_cast<size_t>(std::max<int64_t>(0, bounds[i + 1]))};
  return ranges;
}

Sampler::Sampler(const IndexedDataset &dataset,
                 std::pair<size_t, size_t> documents, int64_t seqLength,
                 uint64_t seed)
    : seqLength(seqLength), seed(seed) {
  for (size_t doc = documents.first; doc < documents.second; ++doc) {
    std::vector<int32_t> tokens = dataset.document(doc);
    stream.insert(stream.end(), tokens.begin(), tokens.end());
  }
  samplesPerEpoch = stream.size() > 1
                        ? (static_cast<int64_t>(stream.size()) - 1) / seqLength
                        : 0;
}

void Sampler::sample(int64_t index, int32_t *tokens) const {
  int64_t epoch = index / samplesPerEpoch;
  if (epoch != cachedEpoch) {
    order.resize(samplesPerEpoch);
    std::iota(order.begin(), order.end(), 0);
    std::mt19937_64 gen(seed + static_cast<uint64_t>(epoch));
    for (int64_t i = samplesPerEpoch - 1; i > 0; --i)
      std::swap(order[i], order[gen() % (i + 1)]);
    cachedEpoch = epoch;
  }
  int64_t start = order[index % samplesPerEpoch] * seqLength;
  std::copy_n(stream.begin() + start, seqLength + 1, tokens);
}

} // namespace moert::data
