//===- NNEnums.td - enumerations of the nn dialect ------------*- tablegen -*-===//

#ifndef NN_ENUMS_TD
#define NN_ENUMS_TD

include "mlir/IR/EnumAttr.td"

def NN_GeluApproximation : I32EnumAttr<"GeluApproximation",
    "the GELU formula: exact (erf) or the tanh approximation", [
      I32EnumAttrCase<"none", 0>,
      I32EnumAttrCase<"tanh", 1>
    ]> {
  let cppNamespace = "::mlir::nn";
}

#endif // NN_ENUMS_TD
