//===- Diagnostics.h - errors in model descriptions -------------*- C++ -*-===//
//
// Frontends report every problem with where it was written: a file position
// ("model.yaml:12:18") or a command-line flag. Messages follow the compiler
// convention `<where>: error: <message>`, with the offending source line and a
// caret when the position is known.
//
//===----------------------------------------------------------------------===//

#ifndef MOE_FRONTEND_DIAGNOSTICS_H
#define MOE_FRONTEND_DIAGNOSTICS_H

#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/raw_ostream.h"

#include <string>
#include <vector>

namespace moe::frontend {

/// Where something was written. An empty `file` is the command line.
struct SourceLoc {
  std::string file;
  unsigned line = 0;
  unsigned column = 0;

  /// "model.yaml:3:5", "model.yaml:3", "model.yaml" or "command line".
  std::string str() const;
};

class Diagnostics {
public:
  explicit Diagnostics(llvm::raw_ostream &os) : os(os) {}

  void error(const SourceLoc &loc, const llvm::Twine &message);
  void warning(const SourceLoc &loc, const llvm::Twine &message);
  void note(const SourceLoc &loc, const llvm::Twine &message);

  unsigned errorCount() const { return errors; }

private:
  void report(const SourceLoc &loc, llvm::StringRef kind,
              const llvm::Twine &message);
  void printSourceLine(const SourceLoc &loc);

  llvm::raw_ostream &os;
  unsigned errors = 0;
  llvm::StringMap<std::vector<std::string>> fileLines;
};

/// The spelling among `candidates` closest to `key`, or "" when none is close
/// enough to be a plausible misspelling.
std::string closestSpelling(llvm::StringRef key,
                            llvm::ArrayRef<llvm::StringRef> candidates);

} // namespace moe::frontend

#endif // MOE_FRONTEND_DIAGNOSTICS_H
