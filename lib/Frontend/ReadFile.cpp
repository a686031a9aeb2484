//===- ReadFile.cpp - reading a description file --------------------------===//

#include "moe/Frontend/Readers.h"

#include "llvm/Support/MemoryBuffer.h"

using namespace moe::frontend;

std::unique_ptr<llvm::MemoryBuffer>
moe::frontend::readFile(llvm::StringRef path, Diagnostics &diag) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/true);
  if (!buffer) {
    diag.error(SourceLoc{path.str()},
               "cannot read the file: " + buffer.getError().message());
    return nullptr;
  }
  return std::move(*buffer);
}
