//===- TokenizerTest.cpp - byte-level and SentencePiece tokenizers --------===//

#include "moert/Tokenizer.h"

#include <gtest/gtest.h>
#include <sentencepiece_trainer.h>

#include <filesystem>
#include <fstream>
#include <unistd.h>

using namespace moert;

TEST(Tokenizer, ByteLevelMapsBytesAndEndsDocumentsWith256) {
  auto tokenizer = Tokenizer::create("ByteLevelTokenizer", "");
  ASSERT_TRUE(tokenizer.ok());
  EXPECT_EQ((*tokenizer)->encode("Az\xc3\xa9"),
            (std::vector<int32_t>{65, 122, 195, 169}));
  EXPECT_EQ((*tokenizer)->endOfDocument(), 256);
  EXPECT_EQ((*tokenizer)->vocabSize(), 257);
}

TEST(Tokenizer, SentencePieceModelsLoadAndEncode) {
  // Train a small model, as Megatron users bring one (tokenizer.model).
  auto dir = std::filesystem::temp_directory_path() /
             ("moert-spm-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  {
    std::ofstream text(dir / "text.txt");
    for (int i = 0; i < 200; ++i)
      text << "experts route tokens and the router learns to balance them "
           << i % 7 << "\n";
  }
  auto status = sentencepiece::SentencePieceTrainer::Train(
      "--input=" + (dir / "text.txt").string() +
      " --model_prefix=" + (dir / "m").string() +
      " --vocab_size=60 --model_type=bpe --minloglevel=2");
  ASSERT_TRUE(status.ok()) << status.ToString();

  auto tokenizer =
      Tokenizer::create("Llama2Tokenizer", (dir / "m.model").string());
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status().message();
  EXPECT_EQ((*tokenizer)->vocabSize(), 60);
  EXPECT_EQ((*tokenizer)->endOfDocument(), 2); // SentencePiece's </s>
  std::vector<int32_t> ids = (*tokenizer)->encode("experts route tokens");
  EXPECT_FALSE(ids.empty());
  EXPECT_LT(ids.size(), std::string("experts route tokens").size());
  for (int32_t id : ids)
    EXPECT_LT(id, 60);

  auto missing =
      Tokenizer::create("SentencePieceTokenizer", (dir / "no.model").string());
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(
      missing.status().message().find("cannot load the SentencePiece model"),
      std::string::npos);
  EXPECT_EQ(Tokenizer::create("GPT2BPETokenizer", "").status().message(),
            "unknown tokenizer type 'GPT2BPETokenizer'; expected "
            "ByteLevelTokenizer, SentencePieceTokenizer or Llama2Tokenizer");
  std::filesystem::remove_all(dir);
}
