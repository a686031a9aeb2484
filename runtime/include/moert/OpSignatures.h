//===- OpSignatures.h - what every plan op must look like -------*- C++ -*-===//
//
// The backend-neutral contract of each op kind: the number, element types
// and shapes of its operands and the kinds and ranges of its attributes. A
// plan's ops are checked against their signatures once, when it is loaded,
// so that no backend's kernel can read or write out of bounds; a backend
// brings only the functions that run them. Data-dependent problems (a token
// id outside the vocabulary) are reported by the run itself.
//
//===----------------------------------------------------------------------===//

#ifndef MOERT_OPSIGNATURES_H
#define MOERT_OPSIGNATURES_H

#include "moert/Plan.h"

#include <string_view>
#include <vector>

namespace moert {

struct OpSignature {
  std::string_view name; // "moe.topk"
  Status (*check)(const Plan &plan, const OpInfo &op);
};

/// Every op kind a plan may hold.
const std::vector<OpSignature> &opSignatures();

/// The signature of an op kind, or null.
const OpSignature *findOpSignature(std::string_view name);

/// Whether an op kind is a collective: it runs over the ranks of its `group`
/// attribute, whose `size` it was compiled for.
bool isCollective(std::string_view name);

} // namespace moert

#endif // MOERT_OPSIGNATURES_H
