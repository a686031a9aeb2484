//===- Tokenizer.h - text to token ids --------------------------*- C++ -*-===//

#ifndef MOERT_TOKENIZER_H
#define MOERT_TOKENIZER_H

#include "moert/Status.h"

#include <memory>
#include <string>
#include <vector>

namespace moert {

class Tokenizer {
public:
  virtual ~Tokenizer() = default;

  /// "ByteLevelTokenizer" (or "byte-level"): one id per byte, 256 ends a
  /// document; "SentencePieceTokenizer" or "Llama2Tokenizer": a SentencePiece
  /// model file, whose end-of-sentence id ends a document.
  static StatusOr<std::unique_ptr<Tokenizer>> create(const std::string &type,
                                                     const std::string &model);

  virtual std::vector<int32_t> encode(const std::string &text) const = 0;
  /// The id appended to every document (Megatron's EOD).
  virtual int32_t endOfDocument() const = 0;
  virtual int64_t vocabSize() const = 0;
};

} // namespace moert

#endif // MOERT_TOKENIZER_H
