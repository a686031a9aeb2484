//===- ConfigJson.h - the resolved model description as JSON ----*- C++ -*-===//

#ifndef MOE_FRONTEND_CONFIGJSON_H
#define MOE_FRONTEND_CONFIGJSON_H

#include "moe/Frontend/ModelConfig.h"

namespace moe::frontend {

/// The model as compiled, every default resolved (FFN sizes, key/value heads,
/// the padded vocabulary, the MoE layers), in a JSON object that the plan
/// carries for tools and the PyTorch oracle.
std::string configToJson(const ModelConfig &config);

} // namespace moe::frontend

#endif // MOE_FRONTEND_CONFIGJSON_H
