//===- moe-preprocess.cpp - text to a Megatron indexed dataset ------------===//
//
//   moe-preprocess --input corpus.jsonl --output-prefix data/corpus \
//       --tokenizer-type ByteLevelTokenizer --append-eod
//
// reads JSON lines (the text under --json-keys, "text" by default) or, for a
// file not ending in .json/.jsonl, plain text with documents separated by
// blank lines, and writes <prefix>_<key>_document.bin/.idx as Megatron's
// preprocess_data.py does.
//
//===----------------------------------------------------------------------===//

#include "moert/Data.h"
#include "moert/Tokenizer.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <iostream>

using namespace moert;

namespace {

bool endsWith(const std::string &text, const std::string &suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

/// The documents of `path`: JSON lines, or blank-line separated paragraphs.
StatusOr<std::vector<std::string>> readDocuments(const std::string &path,
                                                 const std::string &key) {
  std::ifstream file(path);
  if (!file)
    return Status::error(path + ": cannot open");
  std::vector<std::string> documents;
  std::string line;
  bool jsonLines = endsWith(path, ".jsonl") || endsWith(path, ".json");
  std::string paragraph;
  for (int64_t number = 1; std::getline(file, line); ++number) {
    if (!jsonLines) {
      if (line.find_first_not_of(" \t\r") == std::string::npos) {
        if (!paragraph.empty())
          documents.push_back(std::move(paragraph));
        paragraph.clear();
      } else {
        paragraph += paragraph.empty() ? line : "\n" + line;
      }
      continue;
    }
    if (line.find_first_not_of(" \t\r") == std::string::npos)
      continue;
    nlohmann::json object = nlohmann::json::parse(line, nullptr, false);
    if (object.is_discarded() || !object.is_object())
      return Status::error(
          fmt::format("{}:{}: not a JSON object", path, number));
    auto text = object.find(key);
    if (text == object.end() || !text->is_string())
      return Status::error(
          fmt::format("{}:{}: no string '{}'", path, number, key));
    documents.push_back(text->get<std::string>());
  }
  if (!paragraph.empty())
    documents.push_back(std::move(paragraph));
  if (documents.empty())
    return Status::error(path + ": holds no document");
  return documents;
}

} // namespace

static int run(int argc, char **argv) {
  CLI::App app{"moe-preprocess: text or JSON lines to a Megatron indexed "
               "dataset (.bin/.idx)"};
  std::string input, outputPrefix, tokenizerType = "ByteLevelTokenizer",
                                   tokenizerModel, key = "text";
  bool appendEod = false;
  app.add_option("--input", input, "JSON lines (.jsonl) or plain text")
      ->required();
  app.add_option("--output-prefix", outputPrefix,
                 "writes <prefix>_<key>_document.bin/.idx")
      ->required();
  app.add_option("--tokenizer-type", tokenizerType,
                 "ByteLevelTokenizer, SentencePieceTokenizer or "
                 "Llama2Tokenizer");
  app.add_option("--tokenizer-model", tokenizerModel,
                 "the SentencePiece model file");
  app.add_option("--json-keys", key, "the key holding each document's text");
  app.add_flag("--append-eod", appendEod,
               "end every document with the end-of-document token");
  CLI11_PARSE(app, argc, argv);

  StatusOr<std::unique_ptr<Tokenizer>> tokenizer =
      Tokenizer::create(tokenizerType, tokenizerModel);
  if (!tokenizer.ok()) {
    std::cerr << "moe-preprocess: " << tokenizer.status().message() << "\n";
    return 1;
  }
  StatusOr<std::vector<std::string>> documents = readDocuments(input, key);
  if (!documents.ok()) {
    std::cerr << "moe-preprocess: " << documents.status().message() << "\n";
    return 1;
  }
  data::IndexedDatasetWriter writer(
      data::dtypeCodeFor((*tokenizer)->vocabSize()));
  int64_t tokens = 0;
  for (const std::string &text : *documents) {
    std::vector<int32_t> ids = (*tokenizer)->encode(text);
    if (appendEod)
      ids.push_back((*tokenizer)->endOfDocument());
    tokens += ids.size();
    writer.addDocument(ids);
  }
  std::string prefix = outputPrefix + "_" + key + "_document";
  std::filesystem::path parent = std::filesystem::path(prefix).parent_path();
  std::error_code ignored;
  if (!parent.empty())
    std::filesystem::create_directories(parent, ignored);
  Status written = writer.write(prefix);
  if (!written.ok()) {
    std::cerr << "moe-preprocess: " << written.message() << "\n";
    return 1;
  }
  std::cout << "Wrote " << documents->size() << " documents, " << tokens
            << " tokens to " << prefix << ".bin/.idx\n";
  return 0;
}

int main(int argc, char **argv) {
  // Library code reports errors as Status; this catches what the standard
  // library and the JSON and command-line parsers throw (out of memory, a
  // filesystem error), so that no input ends the tool without a message.
  try {
    return run(argc, argv);
  } catch (const std::exception &e) {
    std::cerr << "moe-preprocess: error: " << e.what() << "\n";
    return 1;
  }
}
