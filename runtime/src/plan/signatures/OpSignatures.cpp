//===- OpSignatures.cpp - every op kind's signature -----------------------===//

#include "Signatures.h"

#include <fmt/format.h>

namespace moert {

const std::vector<OpSignature> &opSignatures() {
  static const std::vector<OpSignature> all = [] {
    std::vector<OpSignature> list;
    for (const auto &family :
         {denseSignatures(), denseGradSignatures(), routingSignatures(),
          moeGradSignatures(), dispatchSignatures(), collectiveSignatures(),
          optimizerSignatures()})
      list.insert(list.end(), family.begin(), family.end());
    return list;
  }();
  return all;
}

const OpSignature *findOpSignature(std::string_view name) {
  for (const OpSignature &signature : opSignatures())
    if (signature.name == name)
      return &signature;
  return nullptr;
}

Status verifyOps(const Plan &plan) {
  for (const Program &program : plan.programs)
    for (size_t i = 0; i < program.ops.size(); ++i) {
      const OpInfo &op = program.ops[i];
      std::string where = fmt::format("{} op {}", program.name, i);
      const OpSignature *signature = findOpSignature(op.kernel);
      if (!signature)
        return Status::error(
            fmt::format("{}: unknown op '{}'", where, op.kernel));
      MOERT_RETURN_IF_ERROR(signature->check(plan, op).within(where));
    }
  return Status();
}

} // namespace moert
