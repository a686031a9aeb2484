//===- MoeGradients.cpp - VJPs of the moe ops and their backward ops ------===//
//
// Routing decisions carry no gradient: only the combine weights (through the
// router's softmax) and the losses reach the logits, and from there the
// router weight and its input. Collectives differentiate into their adjoint
// collective over the same group.
//
//===----------------------------------------------------------------------===//

#include "moe/Dialect/Moe/MoeOps.h"
#include "moe/Dialect/NN/NNOps.h"
#include "moe/Dialect/Utils/VerifyUtils.h"

using namespace mlir;
using namespace mlir::moe;
using namespace mlir::verify_utils;

static ArrayRef<int64_t> shapeOf(Value value) {
  return cast<ShapedType>(value.getType()).getShape();
}

//===----------------------------------------------------------------------===//
// Router and routing
//===----------------------------------------------------------------------===//

LogicalResult RouterOp::buildVJP(OpBuilder &b, ArrayRef<Value> resultGrads,
                                 SmallVectorImpl<Value> &operandGrads) {
  // logits = input weight^T: the gradients of a bias-free linear layer.
  Value dy = resultGrads[0];
  operandGrads[0] = b.create<nn::LinearGradInputOp>(
      getLoc(), getInput().getType(), dy, getWeight());
  operandGrads[1] = b.create<nn::LinearGradWeightOp>(
      getLoc(), getWeight().getType(), dy, getInput(), Value());
  return success();
}

LogicalResult JitterOp::buildVJP(OpBuilder &b, ArrayRef<Value> resultGrads,
                                 SmallVectorImpl<Value> &operandGrads) {
  // The noise multiplies elementwise and depends only on (seed, element), so
  // the same op applied to the gradient is its transpose.
  operandGrads[0] =
      b.create<JitterOp>(getLoc(), resultGrads[0], getSeed(), getEpsAttr());
  return success();
}

LogicalResult TopKOp::buildVJP(OpBuilder &b, ArrayRef<Value> resultGrads,
                               SmallVectorImpl<Value> &operandGrads) {
  if (Value dw = resultGrads[0])
    operandGrads[0] = b.create<TopKGradOp>(getLoc(), dw, getLogits(),
                                           getIndices(), getSoftmaxAttr());
  return success();
}

LogicalResult SinkhornOp::buildVJP(OpBuilder &b, ArrayRef<Value> resultGrads,
                                   SmallVectorImpl<Value> &operandGrads) {
  if (Value dw = resultGrads[0])
    operandGrads[0] =
        b.create<SinkhornGradOp>(getLoc(), dw, getLogits(), getIndices());
  return success();
}

LogicalResult ExpertChoiceOp::buildVJP(OpBuilder &b,
                                       ArrayRef<Value> resultGrads,
                                       SmallVectorImpl<Value> &operandGrads) {
  if (Value dw = resultGrads[0])
    operandGrads[0] =
        b.create<ExpertChoiceGradOp>(getLoc(), dw, getLogits(), getKeep());
  return success();
}

LogicalResult AuxLossOp::buildVJP(OpBuilder &b, ArrayRef<Value> resultGrads,
                                  SmallVectorImpl<Value> &operandGrads) {
  operandGrads[0] =
      b.create<AuxLossGradOp>(getLoc(), resultGrads[0], getLogits(),
                              getIndices(), getCoeffAttr(), getSeqLengthAttr());
  return success();
}

LogicalResult ZLossOp::buildVJP(OpBuilder &b, ArrayRef<Value> resultGrads,
                                SmallVectorImpl<Value> &operandGrads) {
  operandGrads[0] = b.create<ZLossGradOp>(getLoc(), resultGrads[0], getLogits(),
                                          getCoeffAttr());
  return success();
}

//===----------------------------------------------------------------------===//
// Dispatch and experts
//===----------------------------------------------------------------------===//

LogicalResult PermuteOp::buildVJP(OpBuilder &b, ArrayRef<Value> resultGrads,
                                  SmallVectorImpl<Value> &operandGrads) {
  if (Value dRows = resultGrads[0])
    operandGrads[0] = b.create<PermuteGradOp>(getLoc(), getInput().getType(),
                                              dRows, getRowMap());
  return success();
}

LogicalResult UnpermuteOp::buildVJP(OpBuilder &b, ArrayRef<Value> resultGrads,
                                    SmallVectorImpl<Value> &operandGrads) {
  auto grad = b.create<UnpermuteGradOp>(getLoc(), resultGrads[0], getRows(),
                                        getRowMap(), getWeights());
  operandGrads[0] = grad.getGradRows();
  operandGrads[2] = grad.getGradWeights();
  return success();
}

LogicalResult GroupedMatmulOp::buildVJP(OpBuilder &b,
                                        ArrayRef<Value> resultGrads,
                                        SmallVectorImpl<Value> &operandGrads) {
  Value dy = resultGrads[0];
  operandGrads[0] = b.create<GroupedMatmulGradInputOp>(
      getLoc(), getRows().getType(), dy, getWeight(), getGroupSizes());
  operandGrads[1] = b.create<GroupedMatmulGradWeightOp>(
      getLoc(), getWeight().getType(), dy, getRows(), getGroupSizes(), Value());
  return success();
}

//===----------------------------------------------------------------------===//
// Collectives: each one's adjoint over the same group
//===----------------------------------------------------------------------===//

LogicalResult AllToAllVOp::buildVJP(OpBuilder &b, ArrayRef<Value> resultGrads,
                                    SmallVectorImpl<Value> &operandGrads) {
  // Rows travel back the way they came: the split sizes swap.
  operandGrads[0] = b.create<AllToAllVOp>(
      getLoc(), getInput().getType(), resultGrads[0], getRecvSizes(),
      getSendSizes(), getGroupAttr(), getSizeAttr());
  return success();
}

LogicalResult SortChunksOp::buildVJP(OpBuilder &b, ArrayRef<Value> resultGrads,
                                     SmallVectorImpl<Value> &operandGrads) {
  // A permutation of rows: its gradient is the inverse permutation.
  operandGrads[0] = b.create<SortChunksOp>(
      getLoc(), getType(), resultGrads[0], getChunkSizes(), getSourcesAttr(),
      getInverse() ? UnitAttr() : b.getUnitAttr());
  return success();
}

LogicalResult AllGatherOp::buildVJP(OpBuilder &b, ArrayRef<Value> resultGrads,
                                    SmallVectorImpl<Value> &operandGrads) {
  operandGrads[0] =
      b.create<ReduceScatterOp>(getLoc(), getInput().getType(), resultGrads[0],
                                getGroupAttr(), getSizeAttr());
  return success();
}

LogicalResult ReduceScatterOp::buildVJP(OpBuilder &b,
                                        ArrayRef<Value> resultGrads,
                                        SmallVectorImpl<Value> &operandGrads) {
  operandGrads[0] =
      b.create<AllGatherOp>(getLoc(), getInput().getType(), resultGrads[0],
                            getGroupAttr(), getSizeAttr());
  return success();
}

LogicalResult AllReduceOp::buildVJP(OpBuilder &b, ArrayRef<Value> resultGrads,
                                    SmallVectorImpl<Value> &operandGrads) {
  // Sum and mean are linear and symmetric across ranks; max is not.
  if (getReduction() == Reduction::max)
    return emitOpError("a max-reduction has no gradient");
  operandGrads[0] =
      b.create<AllReduceOp>(getLoc(), resultGrads[0], getGroupAttr(),
                            getSizeAttr(), getReductionAttr());
  return success();
}

//===----------------------------------------------------------------------===//
// Verifiers of the backward ops
//===----------------------------------------------------------------------===//

LogicalResult PermuteGradOp::verify() {
  if (failed(checkRank(*this, "grad_rows", getGradRows().getType(), 2)) ||
      failed(checkRank(*this, "row_map", getRowMap().getType(), 2)))
    return failure();
  return checkShape(*this, "grad_input", getGradInput().getType(),
                    {shapeOf(getRowMap())[0], shapeOf(getGradRows())[1]});
}

/// Checks the [E, out, in] weight (or its gradient, named `what`) and the
/// [E] group sizes of a grouped GEMM.
static LogicalResult verifyGroups(Operation *op, StringRef what, Value weight,
                                  Value groupSizes) {
  if (failed(checkRank(op, what, weight.getType(), 3)) ||
      failed(checkRank(op, "group_sizes", groupSizes.getType(), 1)))
    return failure();
  return checkEqual(op, (what + " expert count").str(), shapeOf(weight)[0],
                    "group count", shapeOf(groupSizes)[0]);
}

LogicalResult GroupedMatmulGradInputOp::verify() {
  if (failed(checkRank(*this, "grad_output", getGradOutput().getType(), 2)) ||
      failed(verifyGroups(*this, "weight", getWeight(), getGroupSizes())))
    return failure();
  ArrayRef<int64_t> dy = shapeOf(getGradOutput()), w = shapeOf(getWeight());
  if (failed(checkEqual(*this, "weight out-features", w[1], "grad_output width",
                        dy[1])))
    return failure();
  return checkShape(*this, "grad_rows", getGradRows().getType(), {dy[0], w[2]});
}

LogicalResult GroupedMatmulGradWeightOp::verify() {
  if (failed(checkRank(*this, "grad_output", getGradOutput().getType(), 2)) ||
      failed(checkRank(*this, "rows", getRows().getType(), 2)) ||
      failed(
          verifyGroups(*this, "grad_weight", getGradWeight(), getGroupSizes())))
    return failure();
  ArrayRef<int64_t> dy = shapeOf(getGradOutput()), x = shapeOf(getRows());
  if (failed(checkEqual(*this, "rows count", x[0], "grad_output row count",
                        dy[0])))
    return failure();
  ArrayRef<int64_t> w = shapeOf(getGradWeight());
  return checkShape(*this, "grad_weight", getGradWeight().getType(),
                    {w[0], dy[1], x[1]});
}
