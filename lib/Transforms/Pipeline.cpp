//===- Pipeline.cpp - the training pipeline -------------------------------===//

#include "moe/Transforms/Pipeline.h"

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"

namespace mlir::moe {

void buildTrainingPipeline(OpPassManager &pm,
                           const TrainingPipelineOptions &options) {
  OptimizerOptions optimizer;
  optimizer.lr = options.lr;
  optimizer.minLr = options.minLr;
  optimizer.warmupIters = options.warmupIters;
  optimizer.decayIters = options.decayIters;
  optimizer.decayStyle = options.decayStyle;
  optimizer.beta1 = options.beta1;
  optimizer.beta2 = options.beta2;
  optimizer.eps = options.eps;
  optimizer.weightDecay = options.weightDecay;
  optimizer.clipGrad = options.clipGrad;
  optimizer.microBatches = options.microBatches;
  optimizer.worldSize = options.worldSize;
  optimizer.expertParallel = options.expertParallel;
  optimizer.distributed = options.distributedOptimizer;
  if (options.expertParallel > 1) {
    PartitionExpertsOptions partition;
    partition.expertParallel = options.expertParallel;
    partition.dispatcher = options.dispatcher;
    pm.addPass(createPartitionExperts(partition));
  }

  pm.addPass(createAutodiff());
  pm.addPass(createEvalMode());
  if (options.recompute)
    pm.addPass(createRecompute());
  pm.addPass(createOptimizer(optimizer));
  if (options.planMemory)
    pm.addNestedPass<func::FuncOp>(createPlanMemory());
}

void registerTrainingPipeline() {
  PassPipelineRegistration<TrainingPipelineOptions>(
      "moe-training-pipeline",
      "The training step of the graph builder's @forward, as moe-compile "
      "builds it: @forward_backward, the evaluation @forward and "
      "@optimizer_step",
      buildTrainingPipeline);
}

} // namespace mlir::moe
