//===- FlagReader.cpp - command-line flags to config entries --------------===//

#include "moe/Frontend/Readers.h"

#include "llvm/Support/MemoryBuffer.h"

using namespace moe::frontend;

std::optional<std::vector<Token>>
moe::frontend::readArgsFile(llvm::StringRef path, Diagnostics &diag) {
  std::unique_ptr<llvm::MemoryBuffer> buffer = readFile(path, diag);
  if (!buffer)
    return std::nullopt;
  llvm::StringRef text = buffer->getBuffer();
  std::vector<Token> tokens;
  unsigned line = 1, column = 1;
  std::optional<Token> current;
  char quote = 0;
  SourceLoc quoteLoc;

  auto finish = [&] {
    if (current)
      tokens.push_back(std::move(*current));
    current.reset();
  };
  auto append = [&](char c) {
    if (!current)
      current = Token{"", SourceLoc{path.str(), line, column}};
    current->text += c;
  };

  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (quote) {
      if (c == quote)
        quote = 0;
      else
        current->text += c;
    } else if (c == '\'' || c == '"') {
      append(c);
      current->text.pop_back();
      quote = c;
      quoteLoc = SourceLoc{path.str(), line, column};
    } else if (c == '\\' && i + 1 < text.size() && text[i + 1] == '\n') {
      finish();
      ++i;
      ++line;
      column = 1;
      continue;
    } else if (c == '#' && !current) {
      while (i + 1 < text.size() && text[i + 1] != '\n')
        ++i;
    } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      finish();
    } else {
      append(c);
    }
    if (c == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  if (quote) {
    diag.error(quoteLoc, "unterminated quote");
    return std::nullopt;
  }
  finish();
  return tokens;
}

static bool isFlag(llvm::StringRef word) { return word.starts_with("--"); }

std::optional<std::vector<ConfigEntry>>
moe::frontend::parseFlags(const std::vector<Token> &tokens,
                          const KeyTable &table, Diagnostics &diag) {
  std::vector<ConfigEntry> entries;
  bool ok = true;
  for (size_t i = 0; i < tokens.size(); ++i) {
    const Token &token = tokens[i];
    if (!isFlag(token.text)) {
      diag.error(token.loc, "expected a flag starting with '--', got '" +
                                token.text + "'");
      ok = false;
      continue;
    }
    auto [name, inlineValue] = llvm::StringRef(token.text).split('=');
    bool hasInline = token.text.find('=') != std::string::npos;
    ConfigEntry entry{name.str(), RawValue{}, token.loc};
    entry.value.loc = token.loc;
    const KeySpec *spec = table.find(name);
    if (!spec) {
      table.reportUnknown(entry, diag);
      ok = false;
      // Skip the unknown flag's arguments to report the next flag cleanly.
      while (i + 1 < tokens.size() && !isFlag(tokens[i + 1].text))
        ++i;
      continue;
    }
    switch (spec->arity) {
    case Arity::None:
      if (hasInline) {
        diag.error(token.loc, "'" + name + "' takes no value");
        ok = false;
        continue;
      }
      entry.value.kind = RawValue::Kind::Flag;
      break;
    case Arity::One:
      if (hasInline) {
        entry.value.text = inlineValue.str();
      } else if (i + 1 < tokens.size() && !isFlag(tokens[i + 1].text)) {
        entry.value.text = tokens[++i].text;
        entry.value.loc = tokens[i].loc;
      } else {
        diag.error(token.loc, "'" + name + "' expects a value");
        ok = false;
        continue;
      }
      break;
    case Arity::Many:
      entry.value.kind = RawValue::Kind::List;
      if (hasInline)
        entry.value.items.push_back(
            RawValue{RawValue::Kind::Plain, inlineValue.str(), {}, token.loc});
      while (i + 1 < tokens.size() && !isFlag(tokens[i + 1].text)) {
        ++i;
        entry.value.items.push_back(
            RawValue{RawValue::Kind::Plain, tokens[i].text, {}, tokens[i].loc});
      }
      if (entry.value.items.empty()) {
        diag.error(token.loc, "'" + name + "' expects one or more values");
        ok = false;
        continue;
      }
      break;
    }
    entries.push_back(std::move(entry));
  }
  if (!ok)
    return std::nullopt;
  return entries;
}
