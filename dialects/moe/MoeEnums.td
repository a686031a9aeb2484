//===- MoeEnums.td - enumerations of the moe dialect ----------*- tablegen -*-===//

#ifndef MOE_ENUMS_TD
#define MOE_ENUMS_TD

include "mlir/IR/EnumAttr.td"

def Moe_SoftmaxPlacement : I32EnumAttr<"SoftmaxPlacement",
    "where the softmax sits relative to the top-k selection", [
      I32EnumAttrCase<"pre", 0>,
      I32EnumAttrCase<"post", 1>
    ]> {
  let cppNamespace = "::mlir::moe";
}

def Moe_DropPolicy : I32EnumAttr<"DropPolicy",
    "which routed token-expert pairs an expert over capacity keeps", [
      I32EnumAttrCase<"probs", 0>,
      I32EnumAttrCase<"position", 1>
    ]> {
  let cppNamespace = "::mlir::moe";
}

def Moe_CommGroup : I32EnumAttr<"CommGroup",
    "the process group a collective runs over", [
      I32EnumAttrCase<"dp", 0>,
      I32EnumAttrCase<"ep", 1>,
      I32EnumAttrCase<"edp", 2>,
      I32EnumAttrCase<"world", 3>
    ]> {
  let cppNamespace = "::mlir::moe";
}

def Moe_Reduction : I32EnumAttr<"Reduction",
    "how a reducing collective combines the ranks' values", [
      I32EnumAttrCase<"sum", 0>,
      I32EnumAttrCase<"mean", 1>,
      I32EnumAttrCase<"max", 2>
    ]> {
  let cppNamespace = "::mlir::moe";
}

#endif // MOE_ENUMS_TD
