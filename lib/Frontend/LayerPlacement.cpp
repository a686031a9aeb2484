//===- LayerPlacement.cpp - which layers are MoE layers -------------------===//

#include "moe/Frontend/LayerPlacement.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FormatVariadic.h"

using namespace moe::frontend;

std::vector<bool> moe::frontend::megatronLayerFreq(int64_t numLayers,
                                                   int64_t freq) {
  std::vector<bool> layers(numLayers);
  for (int64_t i = 0; i < numLayers; ++i)
    layers[i] = i % freq == 0;
  return layers;
}

std::vector<bool>
moe::frontend::qwenSparseStep(int64_t numLayers, int64_t step,
                              const std::vector<int64_t> &mlpOnlyLayers) {
  std::vector<bool> layers(numLayers);
  for (int64_t i = 0; i < numLayers; ++i)
    layers[i] = (i + 1) % step == 0 && !llvm::is_contained(mlpOnlyLayers, i);
  return layers;
}

std::vector<bool> moe::frontend::deepseekLayers(int64_t numLayers,
                                                int64_t firstKDense,
                                                int64_t freq) {
  std::vector<bool> layers(numLayers);
  for (int64_t i = 0; i < numLayers; ++i)
    layers[i] = i >= firstKDense && i % freq == 0;
  return layers;
}

std::vector<bool> moe::frontend::minimalLayerInterval(int64_t numLayers,
                                                      int64_t interval) {
  std::vector<bool> layers(numLayers);
  for (int64_t i = 0; i < numLayers; ++i)
    layers[i] = i > 0 && i % interval == 0;
  return layers;
}

std::optional<std::vector<bool>>
moe::frontend::flaxformerLayout(llvm::StringRef layout, int64_t numLayers,
                                int64_t numSparse, std::string &error) {
  std::vector<bool> layers(numLayers);
  for (int64_t i = 0; i < numLayers; ++i) {
    if (layout == "top")
      layers[i] = i >= numLayers - numSparse;
    else if (layout == "bottom")
      layers[i] = i < numSparse;
    else if (layout == "middle")
      layers[i] =
          numLayers - numSparse <= 2 * i && 2 * i < numLayers + numSparse;
    else if (layout == "mixed") {
      if (numSparse <= 0 || numLayers % numSparse != 0) {
        error = llvm::formatv("a mixed layout needs a number of sparse "
                              "layers that divides the {0} layers, got {1}",
                              numLayers, numSparse)
                    .str();
        return std::nullopt;
      }
      int64_t every = numLayers / numSparse;
      layers[i] = i % every == every - 1;
    } else {
      error = "unknown sparse layout '" + layout.str() +
              "'; expected top, bottom, middle or mixed";
      return std::nullopt;
    }
  }
  return layers;
}

namespace {
/// Recursive-descent parser of the pattern grammar
///   expr := term ('+' term)*
///   term := atom ('*' int)? | int '*' atom
///   atom := '(' expr ')' | '[' int (',' int)* ']'
class PatternParser {
public:
  explicit PatternParser(llvm::StringRef text) : text(text) {}

  std::optional<std::vector<bool>> parse(std::string &error) {
    std::optional<std::vector<bool>> result = expr();
    skipSpace();
    if (result && pos != text.size())
      fail("unexpected '" + text.substr(pos, 1).str() + "'");
    if (!message.empty()) {
      error = llvm::formatv("{0} at column {1}", message, errorPos + 1).str();
      return std::nullopt;
    }
    return result;
  }

private:
  void skipSpace() {
    while (pos < text.size() && llvm::isSpace(text[pos]))
      ++pos;
  }
  bool consume(char c) {
    skipSpace();
    if (pos < text.size() && text[pos] == c) {
      ++pos;
      return true;
    }
    return false;
  }
  std::nullopt_t fail(const std::string &what) {
    if (message.empty()) {
      message = what;
      errorPos = pos;
    }
    return std::nullopt;
  }
  std::optional<int64_t> integer() {
    skipSpace();
    size_t start = pos;
    while (pos < text.size() && llvm::isDigit(text[pos]))
      ++pos;
    int64_t value = 0;
    if (start == pos || text.slice(start, pos).getAsInteger(10, value)) {
      pos = start;
      return fail("expected a number");
    }
    return value;
  }
  std::optional<std::vector<bool>> atom() {
    if (consume('(')) {
      std::optional<std::vector<bool>> inner = expr();
      if (!inner)
        return std::nullopt;
      if (!consume(')'))
        return fail("expected ')'");
      return inner;
    }
    if (!consume('['))
      return fail("expected '[' or '('");
    std::vector<bool> items;
    do {
      size_t at = pos;
      std::optional<int64_t> value = integer();
      if (!value)
        return std::nullopt;
      if (*value != 0 && *value != 1) {
        pos = at;
        skipSpace();
        return fail("layer flags must be 0 (dense) or 1 (MoE)");
      }
      items.push_back(*value == 1);
    } while (consume(','));
    if (!consume(']'))
      return fail("expected ',' or ']'");
    return items;
  }
  std::optional<std::vector<bool>> repeat(const std::vector<bool> &items,
                                          int64_t times) {
    std::vector<bool> result;
    for (int64_t i = 0; i < times; ++i)
      result.insert(result.end(), items.begin(), items.end());
    return result;
  }
  std::optional<std::vector<bool>> term() {
    skipSpace();
    if (pos < text.size() && llvm::isDigit(text[pos])) {
      std::optional<int64_t> times = integer();
      if (!times || !consume('*'))
        return fail("expected '*' after a repeat count");
      std::optional<std::vector<bool>> items = atom();
      return items ? repeat(*items, *times) : std::nullopt;
    }
    std::optional<std::vector<bool>> items = atom();
    if (!items)
      return std::nullopt;
    if (!consume('*'))
      return items;
    std::optional<int64_t> times = integer();
    return times ? repeat(*items, *times) : std::nullopt;
  }
  std::optional<std::vector<bool>> expr() {
    std::optional<std::vector<bool>> result = term();
    while (result && consume('+')) {
      std::optional<std::vector<bool>> next = term();
      if (!next)
        return std::nullopt;
      result->insert(result->end(), next->begin(), next->end());
    }
    return result;
  }

  llvm::StringRef text;
  size_t pos = 0;
  std::string message;
  size_t errorPos = 0;
};
} // namespace

std::optional<std::vector<bool>>
moe::frontend::parseLayerPattern(llvm::StringRef text, std::string &error) {
  return PatternParser(text).parse(error);
}
