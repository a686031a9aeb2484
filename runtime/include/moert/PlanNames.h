//===- PlanNames.h - the names plan writer and reader share -----*- C++ -*-===//
//
// moe-compile names a plan's programs, inputs, results and states, and
// moe-run looks them up: both take the names from here. This header depends
// on nothing, so the compiler includes it without the runtime.
//
//===----------------------------------------------------------------------===//

#ifndef MOERT_PLANNAMES_H
#define MOERT_PLANNAMES_H

namespace moert::names {

// Programs.
inline constexpr const char *forward = "forward"; // evaluation
inline constexpr const char *forwardBackward = "forward_backward";
inline constexpr const char *optimizerStep = "optimizer_step";

// Inputs the runtime fills.
inline constexpr const char *tokens = "tokens";          // i32 [T]
inline constexpr const char *labels = "labels";          // i32 [T]
inline constexpr const char *positions = "positions";    // i32 [T]
inline constexpr const char *jitterSeed = "jitter_seed"; // i64 scalar
inline constexpr const char *step =
    "step"; // i64: optimizer steps, this one included
inline constexpr const char *trainIters =
    "train_iters"; // i64: the run's length

// Results the runtime reads (f32 scalars).
inline constexpr const char *lmLoss = "lm_loss";
inline constexpr const char *auxLoss = "aux_loss";
inline constexpr const char *zLoss = "z_loss";
inline constexpr const char *lr = "lr";
inline constexpr const char *gradNorm = "grad_norm";

// Persistent states are these prefixes followed by a parameter's name.
inline constexpr const char *gradPrefix = "grad.";
inline constexpr const char *expAvgPrefix = "exp_avg.";
inline constexpr const char *expAvgSqPrefix = "exp_avg_sq.";

/// Stands for the expert index in the name of a stacked [E, ...] parameter:
/// "model.layers.0.block_sparse_moe.experts.{expert}.w1.weight".
inline constexpr const char *expertPlaceholder = "{expert}";

} // namespace moert::names

#endif // MOERT_PLANNAMES_H
