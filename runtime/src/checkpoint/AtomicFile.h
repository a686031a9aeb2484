//===- AtomicFile.h - files that appear whole or not at all -----*- C++ -*-===//

#ifndef MOERT_SRC_CHECKPOINT_ATOMICFILE_H
#define MOERT_SRC_CHECKPOINT_ATOMICFILE_H

#include "moert/Status.h"

#include <string>
#include <string_view>
#include <vector>

namespace moert {

/// Writes `pieces` one after another to `path.tmp`, syncs it, renames it over
/// `path` and syncs the directory, so that a crash leaves either the old file
/// or the whole new one.
Status writeFileAtomically(const std::string &path,
                           const std::vector<std::string_view> &pieces);

/// Makes renames and creations in `directory` durable.
Status syncDirectory(const std::string &directory);

} // namespace moert

#endif // MOERT_SRC_CHECKPOINT_ATOMICFILE_H
