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

def NN_LRDecayStyle : I32EnumAttr<"LRDecayStyle",
    "how the learning rate decays after warmup", [
      I32EnumAttrCase<"constant", 0>,
      I32EnumAttrCase<"linear", 1>,
      I32EnumAttrCase<"cosine", 2>
    ]> {
  let cppNamespace = "::mlir::nn";
}

#endif // NN_ENUMS_TD
