//===- JsonReader.cpp - JSON files to config entries ----------------------===//

#include "moe/Frontend/Readers.h"

#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Regex.h"

using namespace moe::frontend;
namespace json = llvm::json;

namespace {

/// Finds where each key is written, by scanning for `"key":` after the key of
/// the enclosing object: llvm::json keeps no positions.
class KeyLocator {
public:
  KeyLocator(llvm::StringRef path, llvm::StringRef text)
      : path(path), text(text) {}

  /// Returns the location of `"name"` as an object key at or after `from`,
  /// and moves `from` past it.
  SourceLoc locate(llvm::StringRef name, size_t &from) const {
    std::string quoted = "\"" + name.str() + "\"";
    for (size_t at = text.find(quoted, from); at != llvm::StringRef::npos;
         at = text.find(quoted, at + 1)) {
      llvm::StringRef rest = text.drop_front(at + quoted.size()).ltrim();
      if (!rest.starts_with(":"))
        continue;
      from = at + quoted.size();
      return locAt(at);
    }
    return SourceLoc{path.str()};
  }

  SourceLoc locAt(size_t offset) const {
    llvm::StringRef before = text.take_front(offset);
    unsigned line = before.count('\n') + 1;
    size_t lineStart = before.rfind('\n');
    unsigned column =
        lineStart == llvm::StringRef::npos ? offset + 1 : offset - lineStart;
    return SourceLoc{path.str(), line, column};
  }

private:
  llvm::StringRef path;
  llvm::StringRef text;
};

RawValue convertScalar(const json::Value &value, const SourceLoc &loc) {
  RawValue raw;
  raw.loc = loc;
  if (value.getAsNull()) {
    raw.kind = RawValue::Kind::Null;
  } else if (std::optional<bool> b = value.getAsBoolean()) {
    raw.kind = RawValue::Kind::Bool;
    raw.text = *b ? "true" : "false";
  } else if (std::optional<int64_t> i = value.getAsInteger()) {
    raw.kind = RawValue::Kind::Number;
    raw.text = std::to_string(*i);
  } else if (std::optional<double> d = value.getAsNumber()) {
    raw.kind = RawValue::Kind::Number;
    char buffer[64];
    snprintf(buffer, sizeof(buffer), "%.17g", *d);
    raw.text = buffer;
  } else if (std::optional<llvm::StringRef> s = value.getAsString()) {
    raw.kind = RawValue::Kind::String;
    raw.text = s->str();
  }
  return raw;
}

void flatten(const json::Object &object, const std::string &prefix,
             const KeyLocator &locator, size_t from,
             std::vector<ConfigEntry> &entries) {
  struct Member {
    size_t cursor; // just past the written key; npos when not found
    std::string name;
    SourceLoc loc;
  };
  // llvm::json::Object is unordered: visit keys in the order they are written.
  std::vector<Member> members;
  for (const auto &member : object) {
    size_t cursor = from;
    SourceLoc loc = locator.locate(member.first, cursor);
    members.push_back(
        {loc.line ? cursor : std::string::npos, member.first.str(), loc});
  }
  llvm::sort(members, [](const Member &a, const Member &b) {
    return a.cursor < b.cursor;
  });
  for (const Member &member : members) {
    const json::Value &value = *object.get(member.name);
    std::string key = prefix + member.name;
    if (const json::Object *nested = value.getAsObject()) {
      flatten(*nested, key + ".", locator,
              member.cursor == std::string::npos ? from : member.cursor,
              entries);
      continue;
    }
    RawValue raw;
    if (const json::Array *array = value.getAsArray()) {
      raw.kind = RawValue::Kind::List;
      raw.loc = member.loc;
      for (const json::Value &item : *array)
        raw.items.push_back(convertScalar(item, member.loc));
    } else {
      raw = convertScalar(value, member.loc);
    }
    entries.push_back(ConfigEntry{key, std::move(raw), member.loc});
  }
}

} // namespace

std::optional<std::vector<ConfigEntry>>
moe::frontend::readJson(llvm::StringRef path, Diagnostics &diag) {
  std::unique_ptr<llvm::MemoryBuffer> buffer = readFile(path, diag);
  if (!buffer)
    return std::nullopt;
  llvm::StringRef text = buffer->getBuffer();
  llvm::Expected<json::Value> parsed = json::parse(text);
  if (!parsed) {
    // llvm::json reports "[line:column, byte=N]: message".
    std::string message = llvm::toString(parsed.takeError());
    llvm::SmallVector<llvm::StringRef> groups;
    llvm::Regex pattern("^\\[([0-9]+):([0-9]+), byte=[0-9]+\\]: (.*)$");
    SourceLoc loc{path.str()};
    if (pattern.match(message, &groups)) {
      groups[1].getAsInteger(10, loc.line);
      groups[2].getAsInteger(10, loc.column);
      message = groups[3].str();
    }
    diag.error(loc, "invalid JSON: " + message);
    return std::nullopt;
  }
  const json::Object *root = parsed->getAsObject();
  if (!root) {
    diag.error(SourceLoc{path.str(), 1, 1}, "expected a JSON object");
    return std::nullopt;
  }
  std::vector<ConfigEntry> entries;
  flatten(*root, "", KeyLocator(path, text), 0, entries);
  return entries;
}
