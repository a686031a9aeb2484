//===- GraphBuilder.h - ModelConfig to the forward graph --------*- C++ -*-===//

#ifndef MOE_FRONTEND_GRAPHBUILDER_H
#define MOE_FRONTEND_GRAPHBUILDER_H

#include "moe/Frontend/ModelConfig.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

namespace moe::frontend {

/// Builds `func.func @forward` for one micro-batch of `config`'s model in the
/// nn and moe dialects, verified. Its arguments are the token ids and labels
/// (`tensor<T x i32>`, T = micro_batch_size * seq_length, tokens flattened
/// sequence-major), the position ids for learned position embeddings, a seed
/// for input jitter, then one argument per parameter of listParameters() named
/// by a `moe.param` attribute. It returns the mean cross-entropy, the sum of
/// the layers' aux losses and the sum of their z-losses.
mlir::OwningOpRef<mlir::ModuleOp> buildForwardGraph(mlir::MLIRContext &context,
                                                    const ModelConfig &config);

} // namespace moe::frontend

#endif // MOE_FRONTEND_GRAPHBUILDER_H
