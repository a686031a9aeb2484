//===- Tokenizer.cpp - byte-level and SentencePiece tokenizers ------------===//

#include "moert/Tokenizer.h"

#include <sentencepiece_processor.h>

namespace moert {

namespace {

class ByteLevelTokenizer : public Tokenizer {
public:
  std::vector<int32_t> encode(const std::string &text) const override {
    std::vector<int32_t> ids;
    ids.reserve(text.size());
    for (unsigned char c : text)
      ids.push_back(c);
    return ids;
  }
  int32_t endOfDocument() const override { return 256; }
  int64_t vocabSize() const override { return 257; }
};

class SentencePieceTokenizer : public Tokenizer {
public:
  Status load(const std::string &model) {
    auto status = processor.Load(model);
    if (!status.ok())
      return Status::error(model + ": cannot load the SentencePiece model: " +
                           status.ToString());
    return Status();
  }
  std::vector<int32_t> encode(const std::string &text) const override {
    std::vector<int> ids;
    processor.Encode(text, &ids).IgnoreError();
    return std::vector<int32_t>(ids.begin(), ids.end());
  }
  int32_t endOfDocument() const override { return processor.eos_id(); }
  int64_t vocabSize() const override { return processor.GetPieceSize(); }

private:
  sentencepiece::SentencePieceProcessor processor;
};

} // namespace

StatusOr<std::unique_ptr<Tokenizer>>
Tokenizer::create(const std::string &type, const std::string &model) {
  if (type == "ByteLevelTokenizer" || type == "byte-level")
    return std::unique_ptr<Tokenizer>(new ByteLevelTokenizer());
  if (type == "SentencePieceTokenizer" || type == "Llama2Tokenizer" ||
      type == "sentencepiece") {
    if (model.empty())
      return Status::error("tokenizer " + type +
                           " needs a model file (--tokenizer-model)");
    auto tokenizer = std::make_unique<SentencePieceTokenizer>();
    MOERT_RETURN_IF_ERROR(tokenizer->load(model));
    return std::unique_ptr<Tokenizer>(std::move(tokenizer));
  }
  return Status::error("unknown tokenizer type '" + type +
                       "'; expected ByteLevelTokenizer, SentencePieceTokenizer "
                       "or Llama2Tokenizer");
}

} // namespace moert
