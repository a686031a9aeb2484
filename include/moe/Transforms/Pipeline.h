//===- Pipeline.h - the training pipeline -----------------------*- C++ -*-===//
//
// The passes that turn the graph builder's @forward into a training step,
// as one pipeline that moe-compile runs and moe-opt registers
// (-moe-training-pipeline), so that either reproduces the other.
//
//===----------------------------------------------------------------------===//

#ifndef MOE_TRANSFORMS_PIPELINE_H
#define MOE_TRANSFORMS_PIPELINE_H

#include "moe/Transforms/Passes.h"

#include "mlir/Pass/PassOptions.h"

namespace mlir::moe {

/// The pipeline's options: the optimizer's (their defaults are
/// moe-optimizer's), the MoE-layer recompute and the memory plan.
struct TrainingPipelineOptions
    : public PassPipelineOptions<TrainingPipelineOptions> {
  Option<double> lr{*this, "lr", llvm::cl::desc("peak learning rate"),
                    llvm::cl::init(1e-4)};
  Option<double> minLr{*this, "min-lr",
                       llvm::cl::desc("learning rate after decay"),
                       llvm::cl::init(0.0)};
  Option<int64_t> warmupIters{*this, "warmup-iters",
                              llvm::cl::desc("linear warmup steps"),
                              llvm::cl::init(0)};
  Option<int64_t> decayIters{
      *this, "decay-iters",
      llvm::cl::desc("steps until min-lr (0: the length of the training run)"),
      llvm::cl::init(0)};
  Option<std::string> decayStyle{*this, "decay-style",
                                 llvm::cl::desc("constant, linear or cosine"),
                                 llvm::cl::init("linear")};
  Option<double> beta1{*this, "beta1", llvm::cl::desc("AdamW beta1"),
                       llvm::cl::init(0.9)};
  Option<double> beta2{*this, "beta2", llvm::cl::desc("AdamW beta2"),
                       llvm::cl::init(0.999)};
  Option<double> eps{*this, "eps", llvm::cl::desc("AdamW epsilon"),
                     llvm::cl::init(1e-8)};
  Option<double> weightDecay{
      *this, "weight-decay",
      llvm::cl::desc("decoupled weight decay of matrices"),
      llvm::cl::init(0.01)};
  Option<double> clipGrad{
      *this, "clip-grad",
      llvm::cl::desc("global gradient-norm bound (0: no clipping)"),
      llvm::cl::init(1.0)};
  Option<int64_t> microBatches{*this, "micro-batches",
                               llvm::cl::desc("micro-batches per step"),
                               llvm::cl::init(1)};
  Option<int64_t> worldSize{
      *this, "world-size",
      llvm::cl::desc("ranks of the launch, each a data-parallel rank"),
      llvm::cl::init(1)};
  Option<int64_t> expertParallel{
      *this, "ep",
      llvm::cl::desc("ranks that split the experts (expert parallelism)"),
      llvm::cl::init(1)};
  Option<std::string> dispatcher{
      *this, "dispatcher",
      llvm::cl::desc("how expert parallelism moves tokens: alltoall, "
                     "allgather or replicated"),
      llvm::cl::init("alltoall")};
  Option<bool> distributedOptimizer{
      *this, "distributed-optimizer",
      llvm::cl::desc("shard the AdamW state over the ranks holding each "
                     "parameter"),
      llvm::cl::init(false)};
  Option<bool> recompute{
      *this, "recompute",
      llvm::cl::desc("recompute the MoE layers in the backward pass "
                     "(moe_layer_recompute)"),
      llvm::cl::init(false)};
  Option<bool> planMemory{
      *this, "plan-memory",
      llvm::cl::desc("place every activation in the arena, as a plan needs"),
      llvm::cl::init(false)};
};

/// moe-autodiff, moe-eval-mode, moe-recompute (with `recompute`),
/// moe-optimizer, and moe-plan-memory on each function (with `plan-memory`).
void buildTrainingPipeline(OpPassManager &pm,
                           const TrainingPipelineOptions &options);

/// Registers the pipeline as -moe-training-pipeline.
void registerTrainingPipeline();

} // namespace mlir::moe

#endif // MOE_TRANSFORMS_PIPELINE_H
