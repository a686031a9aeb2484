//===- Data.h - Megatron indexed datasets, splits and sampling --*- C++ -*-===//
//
// The token data format of Megatron-LM's preprocess_data.py: `<prefix>.bin`
// holds the tokens of every sequence back to back, `<prefix>.idx` ("MMIDIDX")
// their element type, lengths, byte offsets and where documents start.
//
//===----------------------------------------------------------------------===//

#ifndef MOERT_DATA_H
#define MOERT_DATA_H

#include "moert/Status.h"

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace moert::data {

class IndexedDataset {
public:
  /// Opens `<prefix>.idx` and `<prefix>.bin`, checking that every sequence
  /// lies inside the .bin file.
  static StatusOr<IndexedDataset> open(const std::string &prefix);

  size_t numDocuments() const { return documentStarts.size() - 1; }
  /// The tokens of document `doc` (all its sequences).
  std::vector<int32_t> document(size_t doc) const;

private:
  int dtypeCode = 0;
  std::vector<int32_t> sizes;
  std::vector<int64_t> pointers;
  std::vector<int64_t> documentStarts;
  std::shared_ptr<std::vector<uint8_t>> bin;
};

/// Writes a dataset with one sequence per document.
class IndexedDatasetWriter {
public:
  /// `dtypeCode` is Megatron's: 1 uint8, 3 int16, 4 int32, 5 int64, 8 uint16.
  explicit IndexedDatasetWriter(int dtypeCode) : dtypeCode(dtypeCode) {}
  void addDocument(const std::vector<int32_t> &tokens);
  Status write(const std::string &prefix) const;

private:
  int dtypeCode;
  std::vector<int32_t> sizes;
  std::vector<uint8_t> bin;
};

/// The smallest element type of Megatron's that holds token ids below
/// `vocabSize` (uint16 up to 65500, int32 above).
int dtypeCodeFor(int64_t vocabSize);

/// Megatron's train/valid/test split of `numDocuments` documents by weights
/// such as "99990,8,2" (or "949/50/1"): the [begin, end) document range of
/// each split.
StatusOr<std::array<std::pair<size_t, size_t>, 3>>
splitDocuments(const std::string &weights, size_t numDocuments);

/// Training samples of seqLength + 1 tokens cut from the documents of a split
/// laid end to end, visited in an order shuffled by the seed (reshuffled every
/// epoch).
class Sampler {
public:
  Sampler(const IndexedDataset &dataset, std::pair<size_t, size_t> documents,
          int64_t seqLength, uint64_t seed);

  int64_t numSamples() const { return samplesPerEpoch; }
  /// Writes sample `index` (counting across epochs) to `tokens`, which holds
  /// seqLength + 1 ids.
  void sample(int64_t index, int32_t *tokens) const;

private:
  std::vector<int32_t> stream;
  int64_t seqLength;
  int64_t samplesPerEpoch;
  uint64_t seed;
  mutable int64_t cachedEpoch = -1;
  mutable std::vector<int64_t> order;
};

} // namespace moert::data

#endif // MOERT_DATA_H
