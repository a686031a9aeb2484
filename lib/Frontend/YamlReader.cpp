//===- YamlReader.cpp - YAML files to config entries ----------------------===//

#include "moe/Frontend/Readers.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/YAMLParser.h"

using namespace moe::frontend;
namespace yaml = llvm::yaml;

namespace {

class YamlFlattener {
public:
  YamlFlattener(llvm::StringRef path, llvm::SourceMgr &sm, unsigned buffer,
                Diagnostics &diag)
      : path(path), sm(sm), buffer(buffer), diag(diag) {}

  /// Flattens a mapping into entries with keys under `prefix`.
  bool flattenMapping(yaml::MappingNode *mapping, const std::string &prefix,
                      std::vector<ConfigEntry> &entries);

private:
  SourceLoc locOf(yaml::Node *node) const {
    // The parser leaves nodes it made while recovering from an error without
    // a position.
    const char *start = node->getSourceRange().Start.getPointer();
    const llvm::MemoryBuffer *text = sm.getMemoryBuffer(buffer);
    if (!start || start < text->getBufferStart() ||
        start > text->getBufferEnd())
      return SourceLoc{path.str()};
    auto [line, column] =
        sm.getLineAndColumn(node->getSourceRange().Start, buffer);
    return SourceLoc{path.str(), line, column};
  }
  std::optional<RawValue> convert(yaml::Node *node, llvm::StringRef key);

  llvm::StringRef path;
  llvm::SourceMgr &sm;
  unsigned buffer;
  Diagnostics &diag;
  llvm::StringMap<SourceLoc> seen;
};

} // namespace

std::optional<RawValue> YamlFlattener::convert(yaml::Node *node,
                                               llvm::StringRef key) {
  RawValue value;
  value.loc = locOf(node);
  if (auto *scalar = llvm::dyn_cast<yaml::ScalarNode>(node)) {
    llvm::SmallString<64> storage;
    value.text = scalar->getValue(storage).str();
    llvm::StringRef raw = scalar->getRawValue();
    bool quoted = raw.starts_with("'") || raw.starts_with("\"");
    if (quoted)
      value.kind = RawValue::Kind::String;
    else if (value.text == "null" || value.text == "~" || value.text == "Null")
      value.kind = RawValue::Kind::Null;
    return value;
  }
  if (auto *block = llvm::dyn_cast<yaml::BlockScalarNode>(node)) {
    value.kind = RawValue::Kind::String;
    value.text = block->getValue().str();
    return value;
  }
  if (llvm::isa<yaml::NullNode>(node)) {
    value.kind = RawValue::Kind::Null;
    return value;
  }
  if (auto *sequence = llvm::dyn_cast<yaml::SequenceNode>(node)) {
    value.kind = RawValue::Kind::List;
    for (yaml::Node &item : *sequence) {
      std::optional<RawValue> converted = convert(&item, key);
      if (!converted)
        return std::nullopt;
      value.items.push_back(std::move(*converted));
    }
    return value;
  }
  if (llvm::isa<yaml::MappingNode>(node))
    diag.error(value.loc, "'" + key +
                              "' holds a mapping inside a list, which "
                              "no key of a model description takes");
  else
    diag.error(value.loc, "'" + key +
                              "': anchors, aliases and tags are not "
                              "supported in model descriptions");
  return std::nullopt;
}

bool YamlFlattener::flattenMapping(yaml::MappingNode *mapping,
                                   const std::string &prefix,
                                   std::vector<ConfigEntry> &entries) {
  bool ok = true;
  for (yaml::KeyValueNode &pair : *mapping) {
    auto *keyNode = llvm::dyn_cast_or_null<yaml::ScalarNode>(pair.getKey());
    yaml::Node *valueNode = pair.getValue();
    if (!keyNode || !valueNode) {
      if (pair.getKey())
        diag.error(locOf(pair.getKey()), "expected a plain key");
      ok = false;
      continue;
    }
    llvm::SmallString<64> storage;
    std::string key = prefix + keyNode->getValue(storage).str();
    SourceLoc keyLoc = locOf(keyNode);
    auto [it, inserted] = seen.try_emplace(key, keyLoc);
    if (!inserted) {
      diag.error(keyLoc, "duplicate key '" + key + "' (first given at " +
                             it->second.str() + ")");
      ok = false;
      continue;
    }
    if (auto *nested = llvm::dyn_cast<yaml::MappingNode>(valueNode)) {
      ok &= flattenMapping(nested, key + ".", entries);
      continue;
    }
    std::optional<RawValue> value = convert(valueNode, key);
    if (!value) {
      ok = false;
      continue;
    }
    entries.push_back(ConfigEntry{key, std::move(*value), keyLoc});
  }
  return ok;
}

namespace {
/// Resolves OmegaConf interpolations against the flattened entries.
class Interpolator {
public:
  Interpolator(std::vector<ConfigEntry> &entries, Diagnostics &diag)
      : entries(entries), diag(diag) {
    for (size_t i = 0; i < entries.size(); ++i)
      index[entries[i].key] = i;
  }

  bool resolveAll() {
    bool ok = true;
    for (size_t i = 0; i < entries.size(); ++i)
      ok &= resolve(i, 0);
    return ok;
  }

private:
  static constexpr unsigned maxDepth = 32;

  /// The absolute key that `reference` (the text inside ${...}) names from
  /// the entry `key`.
  static std::string absoluteKey(llvm::StringRef key,
                                 llvm::StringRef reference) {
    if (!reference.starts_with("."))
      return reference.str();
    // One dot is the enclosing mapping, each further dot one level up.
    llvm::StringRef scope = key.rsplit('.').first;
    if (scope == key)
      scope = "";
    reference = reference.drop_front();
    while (reference.consume_front("."))
      scope = scope.contains('.') ? scope.rsplit('.').first : "";
    return scope.empty() ? reference.str() : (scope + "." + reference).str();
  }

  bool resolve(size_t i, unsigned depth) {
    RawValue &value = entries[i].value;
    if (value.kind == RawValue::Kind::List) {
      for (RawValue &item : value.items)
        if (!resolveText(i, item, depth))
          return false;
      return true;
    }
    return resolveText(i, value, depth);
  }

  bool resolveText(size_t i, RawValue &value, unsigned depth) {
    size_t start = value.text.find("${");
    if (start == std::string::npos || (value.kind != RawValue::Kind::Plain &&
                                       value.kind != RawValue::Kind::String))
      return true;
    if (depth > maxDepth) {
      diag.error(value.loc,
                 "interpolation cycle through '" + entries[i].key + "'");
      return false;
    }
    size_t end = value.text.find('}', start);
    if (end == std::string::npos) {
      diag.error(value.loc,
                 "unterminated interpolation in '" + entries[i].key + "'");
      return false;
    }
    llvm::StringRef reference =
        llvm::StringRef(value.text).slice(start + 2, end).trim();
    if (reference.contains(':')) {
      diag.error(value.loc, "'" + entries[i].key + "': resolver '${" +
                                reference + "}' is not supported");
      return false;
    }
    std::string target = absoluteKey(entries[i].key, reference);
    auto it = index.find(target);
    if (it == index.end()) {
      diag.error(value.loc, "'" + entries[i].key + "' refers to '" + target +
                                "', which is not set");
      return false;
    }
    if (!resolve(it->second, depth + 1))
      return false;
    const RawValue &resolved = entries[it->second].value;
    bool whole = start == 0 && end + 1 == value.text.size();
    if (whole) {
      SourceLoc loc = value.loc;
      value = resolved;
      value.loc = loc;
      return true;
    }
    if (resolved.kind == RawValue::Kind::List) {
      diag.error(value.loc, "'" + entries[i].key + "' embeds the list '" +
                                target + "' in a string");
      return false;
    }
    value.text.replace(start, end + 1 - start, resolved.text);
    value.kind = RawValue::Kind::String;
    return resolveText(i, value, depth + 1);
  }

  std::vector<ConfigEntry> &entries;
  Diagnostics &diag;
  llvm::StringMap<size_t> index;
};
} // namespace

std::optional<std::vector<ConfigEntry>>
moe::frontend::readYaml(llvm::StringRef path, Diagnostics &diag) {
  std::unique_ptr<llvm::MemoryBuffer> buffer = readFile(path, diag);
  if (!buffer)
    return std::nullopt;
  llvm::SourceMgr sm;
  unsigned id = sm.AddNewSourceBuffer(std::move(buffer), llvm::SMLoc());
  struct HandlerContext {
    Diagnostics &diag;
    std::string path;
  } context{diag, path.str()};
  sm.setDiagHandler(
      [](const llvm::SMDiagnostic &d, void *raw) {
        auto *ctx = static_cast<HandlerContext *>(raw);
        ctx->diag.error(SourceLoc{ctx->path,
                                  static_cast<unsigned>(d.getLineNo()),
                                  static_cast<unsigned>(d.getColumnNo() + 1)},
                        d.getMessage());
      },
      &context);

  yaml::Stream stream(sm.getMemoryBuffer(id)->getMemBufferRef(), sm,
                      /*ShowColors=*/false);
  std::vector<ConfigEntry> entries;
  YamlFlattener flattener(path, sm, id, diag);
  unsigned errorsBefore = diag.errorCount();
  yaml::document_iterator doc = stream.begin();
  if (doc == stream.end() || !doc->getRoot()) {
    diag.error(SourceLoc{path.str()}, "the file holds no YAML document");
    return std::nullopt;
  }
  yaml::Node *root = doc->getRoot();
  if (llvm::isa<yaml::NullNode>(root)) {
    diag.error(SourceLoc{path.str()}, "the file holds no YAML document");
    return std::nullopt;
  }
  auto *mapping = llvm::dyn_cast<yaml::MappingNode>(root);
  if (!mapping) {
    if (!stream.failed())
      diag.error(SourceLoc{path.str(), 1, 1},
                 "expected a mapping of keys at the top level");
    return std::nullopt;
  }
  bool ok = flattener.flattenMapping(mapping, "", entries);
  if (!ok || stream.failed() || diag.errorCount() != errorsBefore)
    return std::nullopt;
  if (!Interpolator(entries, diag).resolveAll())
    return std::nullopt;
  return entries;
}
