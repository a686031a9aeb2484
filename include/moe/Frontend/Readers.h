//===- Readers.h - from files and flags to config entries -------*- C++ -*-===//
//
// The syntactic half of the frontends: YAML and JSON files and command-line
// flags become ConfigEntry lists carrying the position of every key and value.
// Syntax errors are reported with their position; the readers return
// std::nullopt after reporting.
//
//===----------------------------------------------------------------------===//

#ifndef MOE_FRONTEND_READERS_H
#define MOE_FRONTEND_READERS_H

#include "moe/Frontend/KeyTable.h"

namespace llvm {
class MemoryBuffer;
} // namespace llvm

namespace moe::frontend {

/// Reads a whole file, or reports why it cannot be read and returns null.
std::unique_ptr<llvm::MemoryBuffer> readFile(llvm::StringRef path,
                                             Diagnostics &diag);

/// Reads a YAML file; nested mappings flatten to dotted keys
/// ("model.optim.lr"), and OmegaConf interpolations `${model.x}` and
/// `${.x}` (relative to the enclosing mapping) are resolved.
std::optional<std::vector<ConfigEntry>> readYaml(llvm::StringRef path,
                                                 Diagnostics &diag);

/// Reads a JSON file; nested objects flatten to dotted keys.
std::optional<std::vector<ConfigEntry>> readJson(llvm::StringRef path,
                                                 Diagnostics &diag);

/// A word of a command line or of an arguments file, with its position.
struct Token {
  std::string text;
  SourceLoc loc;
};

/// Splits an arguments file into words the way a shell would: whitespace
/// separates, quotes group, `#` starts a comment, a backslash at the end of a
/// line continues it.
std::optional<std::vector<Token>> readArgsFile(llvm::StringRef path,
                                               Diagnostics &diag);

/// Parses `--flag value`, `--flag=value`, bare `--flag` and multi-valued flags
/// as `table` says each one takes arguments.
std::optional<std::vector<ConfigEntry>>
parseFlags(const std::vector<Token> &tokens, const KeyTable &table,
           Diagnostics &diag);

} // namespace moe::frontend

#endif // MOE_FRONTEND_READERS_H
