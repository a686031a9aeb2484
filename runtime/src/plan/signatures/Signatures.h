//===- Signatures.h - the signature tables by op family ---------*- C++ -*-===//

#ifndef MOERT_SRC_PLAN_SIGNATURES_SIGNATURES_H
#define MOERT_SRC_PLAN_SIGNATURES_SIGNATURES_H

#include "moert/OpSignatures.h"

namespace moert {

/// Ops of the nn dialect.
std::vector<OpSignature> denseSignatures();
/// The nn gradient ops.
std::vector<OpSignature> denseGradSignatures();
/// The moe dialect's router, routing and losses.
std::vector<OpSignature> routingSignatures();
/// The moe gradient ops.
std::vector<OpSignature> moeGradSignatures();
/// Capacity, dispatch and grouped GEMMs.
std::vector<OpSignature> dispatchSignatures();
/// The expert-parallel collectives.
std::vector<OpSignature> collectiveSignatures();
/// The optimizer step: learning rate, clipping, AdamW.
std::vector<OpSignature> optimizerSignatures();

} // namespace moert

#endif // MOERT_SRC_PLAN_SIGNATURES_SIGNATURES_H
