//===- Passes.td - the project's passes -----------------------*- tablegen -*-===//

#ifndef MOE_TRANSFORMS_PASSES_TD
#define MOE_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def PlanMemory : Pass<"moe-plan-memory", "::mlir::func::FuncOp"> {
  let summary = "Assign every activation an offset in one arena";
  let description = [{
    Buffer assignment for a straight-line function: every tensor result of an
    op (not constants, which the plan stores, nor the function's arguments,
    which are parameters and inputs) is a buffer, live from the op that
    defines it to its last use, or to the end when it is returned. The
    results of routing ops (moe.topk, moe.sinkhorn, moe.expert_choice) live to
    the end: the runtime reads them after the step to count tokens per
    expert. Buffers
    are placed largest first at the lowest offset (aligned to 64 bytes) that
    does not overlap a buffer whose live range meets theirs, so an op's
    outputs never alias its inputs.

    Each op gets `moe.offsets`, one byte offset per result; the function gets
    `moe.arena_bytes` (the arena's size) and `moe.peak_live_bytes` (the
    largest total of simultaneously live buffers, a lower bound on any arena),
    and `moe.buffer_bytes` (all buffers laid end to end).
  }];
  let dependentDialects = [];
}

#endif // MOE_TRANSFORMS_PASSES_TD
