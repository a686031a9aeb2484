//===- Diagnostics.cpp - errors in model descriptions ---------------------===//

#include "moe/Frontend/Diagnostics.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"

using namespace moe::frontend;

std::string SourceLoc::str() const {
  if (file.empty())
    return "command line";
  if (!line)
    return file;
  if (!column)
    return llvm::formatv("{0}:{1}", file, line).str();
  return llvm::formatv("{0}:{1}:{2}", file, line, column).str();
}

void Diagnostics::error(const SourceLoc &loc, const llvm::Twine &message) {
  ++errors;
  report(loc, "error", message);
}

void Diagnostics::warning(const SourceLoc &loc, const llvm::Twine &message) {
  report(loc, "warning", message);
}

void Diagnostics::note(const SourceLoc &loc, const llvm::Twine &message) {
  report(loc, "note", message);
}

void Diagnostics::report(const SourceLoc &loc, llvm::StringRef kind,
                         const llvm::Twine &message) {
  os << loc.str() << ": " << kind << ": " << message << "\n";
  printSourceLine(loc);
  os.flush();
}

void Diagnostics::printSourceLine(const SourceLoc &loc) {
  if (loc.file.empty() || loc.line == 0)
    return;
  auto [it, inserted] = fileLines.try_emplace(loc.file);
  if (inserted) {
    if (auto buffer = llvm::MemoryBuffer::getFile(loc.file)) {
      llvm::SmallVector<llvm::StringRef> lines;
      (*buffer)->getBuffer().split(lines, '\n');
      for (llvm::StringRef line : lines)
        it->second.push_back(line.rtrim("\r").str());
    }
  }
  if (loc.line > it->second.size())
    return;
  os << it->second[loc.line - 1] << "\n";
  if (loc.column)
    os.indent(loc.column - 1) << "^\n";
}

std::string
moe::frontend::closestSpelling(llvm::StringRef key,
                               llvm::ArrayRef<llvm::StringRef> candidates) {
  std::string best;
  unsigned bestDistance = ~0u;
  for (llvm::StringRef candidate : candidates) {
    unsigned distance = key.edit_distance(candidate, /*AllowReplacements=*/true,
                                          /*MaxEditDistance=*/bestDistance);
    if (distance < bestDistance) {
      bestDistance = distance;
      best = candidate.str();
    }
  }
  // A third of the key's length, at least 2 edits, counts as a misspelling.
  unsigned limit = std::max<unsigned>(2, key.size() / 3);
  return bestDistance <= limit ? best : std::string();
}
