//===- DataTest.cpp - indexed datasets, splits and sampling ---------------===//

#include "moert/Data.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <unistd.h>

using namespace moert;
using namespace moert::data;

namespace {

std::string tempPrefix(const std::string &name) {
  return (std::filesystem::temp_directory_path() /
          ("moert-" + name + "-" + std::to_string(::getpid())))
      .string();
}

std::vector<std::vector<int32_t>> sampleDocuments() {
  return {{1, 2, 3}, {}, {70000, 5}, {9, 9, 9, 9, 9}};
}

} // namespace

TEST(IndexedDataset, WritesAndReadsBackEveryDocument) {
  for (int code : {4, 5}) {
    std::string prefix = tempPrefix("roundtrip" + std::to_string(code));
    IndexedDatasetWriter writer(code);
    for (const auto &doc : sampleDocuments())
      writer.addDocument(doc);
    ASSERT_TRUE(writer.write(prefix).ok());
    StatusOr<IndexedDataset> dataset = IndexedDataset::open(prefix);
    ASSERT_TRUE(dataset.ok()) << dataset.status().message();
    ASSERT_EQ(dataset->numDocuments(), 4u);
    for (size_t i = 0; i < 4; ++i)
      EXPECT_EQ(dataset->document(i), sampleDocuments()[i]) << "document " << i;
  }
}

TEST(IndexedDataset, SmallVocabulariesUseUint16) {
  EXPECT_EQ(dtypeCodeFor(257), 8);
  EXPECT_EQ(dtypeCodeFor(32000), 8);
  EXPECT_EQ(dtypeCodeFor(128256), 4);
  std::string prefix = tempPrefix("uint16");
  IndexedDatasetWriter writer(8);
  writer.addDocument({0, 256, 65000});
  ASSERT_TRUE(writer.write(prefix).ok());
  EXPECT_EQ(std::filesystem::file_size(prefix + ".bin"), 6u);
  EXPECT_EQ(IndexedDataset::open(prefix)->document(0),
            (std::vector<int32_t>{0, 256, 65000}));
}

TEST(IndexedDataset, CorruptIndexesAreErrors) {
  std::string prefix = tempPrefix("corrupt");
  IndexedDatasetWriter writer(4);
  writer.addDocument({1, 2, 3, 4});
  ASSERT_TRUE(writer.write(prefix).ok());
  std::ifstream in(prefix + ".idx", std::ios::binary);
  std::string good((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  auto openWith = [&](const std::string &idx) {
    std::ofstream(prefix + ".idx", std::ios::binary | std::ios::trunc) << idx;
    StatusOr<IndexedDataset> dataset = IndexedDataset::open(prefix);
    return dataset.ok() ? std::string() : dataset.status().message();
  };
  std::string badMagic = good;
  badMagic[0] = 'X';
  EXPECT_EQ(openWith(badMagic),
            prefix + ".idx: not a Megatron index (no MMIDIDX magic)");
  EXPECT_EQ(openWith(good.substr(0, 20)),
            prefix + ".idx: the header is truncated");
  EXPECT_EQ(openWith(good.substr(0, good.size() - 4)),
            prefix + ".idx: truncated: the header announces 1 sequences and "
                     "2 document indices");
  std::string longSequence = good;
  int32_t huge = 1000;
  std::memcpy(&longSequence[34], &huge, 4); // the first sequence's length
  EXPECT_EQ(openWith(longSequence), prefix + ".idx: sequence 0 lies outside " +
                                        prefix + ".bin (16 bytes)");
  EXPECT_EQ(IndexedDataset::open(tempPrefix("absent")).status().message(),
            tempPrefix("absent") + ".idx: cannot open");
}

TEST(Split, BoundariesFollowMegatron) {
  auto ranges = splitDocuments("99990,8,2", 100000);
  ASSERT_TRUE(ranges.ok());
  EXPECT_EQ((*ranges)[0], std::make_pair(size_t(0), size_t(99990)));
  EXPECT_EQ((*ranges)[1], std::make_pair(size_t(99990), size_t(99998)));
  EXPECT_EQ((*ranges)[2], std::make_pair(size_t(99998), size_t(100000)));

  // With 1000 documents the validation share (0.08) rounds to nothing.
  ranges = splitDocuments("99990,8,2", 1000);
  EXPECT_EQ((*ranges)[0].second, 1000u);
  EXPECT_EQ((*ranges)[1], std::make_pair(size_t(1000), size_t(1000)));

  // Halves round to even as in Python (2.5 -> 2), then the boundaries shift
  // by the difference: [0, 2, 4, 4] + 1 -> [0, 3, 5, 5].
  ranges = splitDocuments("1,1", 5);
  EXPECT_EQ((*ranges)[0], std::make_pair(size_t(0), size_t(3)));
  EXPECT_EQ((*ranges)[1], std::make_pair(size_t(3), size_t(5)));

  ranges = splitDocuments("949/50/1", 100);
  ASSERT_TRUE(ranges.ok());
  EXPECT_EQ((*ranges)[0].second, 95u);
  EXPECT_EQ((*ranges)[1].second, 100u);
  EXPECT_EQ((*ranges)[2], std::make_pair(size_t(100), size_t(100)));

  ranges = splitDocuments("8,1,1", 10);
  EXPECT_EQ((*ranges)[0].second, 8u);
  EXPECT_EQ((*ranges)[1], std::make_pair(size_t(8), size_t(9)));
  EXPECT_EQ((*ranges)[2], std::make_pair(size_t(9), size_t(10)));

  ranges = splitDocuments("1", 7); // missing weights are 0
  EXPECT_EQ((*ranges)[0].second, 7u);
  EXPECT_EQ((*ranges)[1], std::make_pair(size_t(7), size_t(7)));

  EXPECT_EQ(splitDocuments("9,x,1", 10).status().message(),
            "--split '9,x,1': expected non-negative weights such as 99990,8,2");
  EXPECT_EQ(splitDocuments("0,0,0", 10).status().message(),
            "--split '0,0,0': the weights sum to 0");
}

TEST(Sampler, SamplesAreDeterministicWindowsOfTheSplit) {
  std::string prefix = tempPrefix("sampler");
  IndexedDatasetWriter writer(4);
  std::vector<int32_t> stream;
  for (int d = 0; d < 5; ++d) {
    std::vector<int32_t> doc;
    for (int i = 0; i < 7; ++i)
      doc.push_back(d * 100 + i);
    writer.addDocument(doc);
    if (d >= 1 && d < 4)
      stream.insert(stream.end(), doc.begin(), doc.end());
  }
  ASSERT_TRUE(writer.write(prefix).ok());
  IndexedDataset dataset = std::move(*IndexedDataset::open(prefix));
  Sampler a(dataset, {1, 4}, 4, 42), b(dataset, {1, 4}, 4, 42),
      c(dataset, {1, 4}, 4, 43);
  ASSERT_EQ(a.numSamples(), (21 - 1) / 4);
  std::vector<int64_t> starts;
  bool differs = false;
  for (int64_t i = 0; i < a.numSamples(); ++i) {
    std::vector<int32_t> x(5), y(5), z(5);
    a.sample(i, x.data());
    b.sample(i, y.data());
    c.sample(i, z.data());
    EXPECT_EQ(x, y);
    differs |= x != z;
    // Each sample is 5 consecutive tokens of the split's stream at a multiple
    // of the sequence length.
    auto at = std::search(stream.begin(), stream.end(), x.begin(), x.end());
    ASSERT_NE(at, stream.end());
    EXPECT_EQ((at - stream.begin()) % 4, 0);
    starts.push_back(at - stream.begin());
  }
  std::sort(starts.begin(), starts.end());
  EXPECT_EQ(std::unique(starts.begin(), starts.end()), starts.end())
      << "an epoch visits every window once";
  EXPECT_TRUE(differs) << "another seed gives another order";
}
