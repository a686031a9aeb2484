//===- DifferentiableOpInterface.td - ops with a VJP ----------*- tablegen -*-===//
//
// The contract between an op and the moe-autodiff pass: the op writes its own
// vector-Jacobian product as IR.
//
//===----------------------------------------------------------------------===//

#ifndef MOE_INTERFACES_DIFFERENTIABLEOPINTERFACE_TD
#define MOE_INTERFACES_DIFFERENTIABLEOPINTERFACE_TD

include "mlir/IR/OpBase.td"

def DifferentiableOpInterface : OpInterface<"DifferentiableOpInterface"> {
  let cppNamespace = "::mlir::moe";
  let description = [{
    An op whose reverse-mode derivative moe-autodiff can build. Given the
    gradient of the loss with respect to each result (a null value where no
    gradient flows, always for integer results), the op builds at the
    builder's insertion point the ops that compute the gradient with respect
    to its operands and stores them in `operandGrads` (pre-sized to the operand
    count, null entries meaning no gradient: integer operands, routing
    decisions, absent optional operands). The op is only asked when at least
    one result gradient is not null.
  }];
  let methods = [
    InterfaceMethod<[{Builds the VJP; emits an error and fails when the
                      gradient cannot be written (e.g. a max-reduction).}],
      "::mlir::LogicalResult", "buildVJP",
      (ins "::mlir::OpBuilder &":$builder,
           "::mlir::ArrayRef<::mlir::Value>":$resultGrads,
           "::llvm::SmallVectorImpl<::mlir::Value> &":$operandGrads)>,
  ];
}

// The trait an op lists to implement the interface (buildVJP in C++).
def Differentiable : DeclareOpInterfaceMethods<DifferentiableOpInterface>;

#endif // MOE_INTERFACES_DIFFERENTIABLEOPINTERFACE_TD
