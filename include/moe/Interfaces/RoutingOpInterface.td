//===- RoutingOpInterface.td - ops that route tokens ----------*- tablegen -*-===//
//
// What the passes and the plan emitter need to know of a routing decision,
// so that a new routing op joins them by implementing this interface.
//
//===----------------------------------------------------------------------===//

#ifndef MOE_INTERFACES_ROUTINGOPINTERFACE_TD
#define MOE_INTERFACES_ROUTINGOPINTERFACE_TD

include "mlir/IR/OpBase.td"

def RoutingOpInterface : OpInterface<"RoutingOpInterface"> {
  let cppNamespace = "::mlir::moe";
  let description = [{
    An op that decides which experts each token goes to, from router logits,
    in the token-choice layout that `moe.permute` dispatches: `[T, k]`
    routing indices (the expert of each (token, slot) pair) and, when not
    every pair is routed, a `[T, k]` keep mask. The runtime counts tokens per
    expert from these results after a step, so the memory planner keeps them
    alive to the end of the program and the plan emitter records where they
    are. Evaluation (`moe-eval-mode`) may route differently from training.

    The default implementations read the op's `logits` operand and
    `indices` result; an op named otherwise overrides them.
  }];
  let methods = [
    InterfaceMethod<"The router logits, [T, E] fp32.",
      "::mlir::Value", "getRouterLogits", (ins), [{}],
      [{ return $_op.getLogits(); }]>,
    InterfaceMethod<"The expert of each (token, slot) pair, [T, k] i32.",
      "::mlir::Value", "getRoutingIndices", (ins), [{}],
      [{ return $_op.getIndices(); }]>,
    InterfaceMethod<[{The [T, k] i1 mask of the pairs routed, or null when
                      every pair is.}],
      "::mlir::Value", "getRoutingMask", (ins), [{}],
      [{ return ::mlir::Value(); }]>,
    InterfaceMethod<[{Turns the op into the routing evaluation uses (as
                      Megatron's model.eval() does); returns whether it
                      changed anything.}],
      "bool", "convertToEvaluation", (ins), [{}],
      [{ return false; }]>,
  ];
}

#endif // MOE_INTERFACES_ROUTINGOPINTERFACE_TD
