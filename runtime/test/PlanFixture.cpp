//===- PlanFixture.cpp - the backends the conformance suite runs on -------===//

#include "PlanFixture.h"

namespace moert::testing {

std::vector<std::string> backendNames() {
  std::vector<std::string> names;
  for (const Backend &backend : backends())
    names.push_back(backend.name);
  return names;
}

} // namespace moert::testing
