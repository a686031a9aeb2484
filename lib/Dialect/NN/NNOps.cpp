//===- NNOps.cpp - verifiers and folders of the nn dialect ----------------===//

#include "moe/Dialect/NN/NNOps.h"
#include "moe/Dialect/Utils/VerifyUtils.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/OpImplementation.h"

using namespace mlir;
using namespace mlir::nn;
using namespace mlir::verify_utils;

#define GET_OP_CLASSES
#include "nn/NNOps.cpp.inc"

static ArrayRef<int64_t> shapeOf(Value value) {
  return cast<ShapedType>(value.getType()).getShape();
}

/// Checks `seq_length` against the token count of a [T, W] activation.
static LogicalResult verifySequenceLength(Operation *op, int64_t seqLength,
                                          Value tokens) {
  return checkDivides(op, "seq_length", seqLength, "the token count",
                      shapeOf(tokens)[0]);
}

LogicalResult EmbeddingOp::verify() {
  if (failed(checkRank(*this, "ids", getIds().getType(), 1)) ||
      failed(checkRank(*this, "table", getTable().getType(), 2)))
    return failure();
  return checkShape(*this, "output", getOutput().getType(),
                    {shapeOf(getIds())[0], shapeOf(getTable())[1]});
}

LogicalResult LinearOp::verify() {
  if (failed(checkRank(*this, "input", getInput().getType(), 2)) ||
      failed(checkRank(*this, "weight", getWeight().getType(), 2)))
    return failure();
  ArrayRef<int64_t> input = shapeOf(getInput()), weight = shapeOf(getWeight());
  if (failed(checkEqual(*this, "weight in-features", weight[1], "input width",
                        input[1])))
    return failure();
  if (Value bias = getBias())
    if (failed(checkShape(*this, "bias", bias.getType(), {weight[0]})))
      return failure();
  return checkShape(*this, "output", getOutput().getType(),
                    {input[0], weight[0]});
}

/// Checks the [T, H] input, the [H] per-channel parameters and eps of a norm.
static LogicalResult verifyNorm(Operation *op, Value input, Value weight,
                                double eps) {
  if (failed(checkRank(op, "input", input.getType(), 2)) ||
      failed(checkShape(op, "weight", weight.getType(), {shapeOf(input)[1]})))
    return failure();
  return checkPositive(op, "eps", eps);
}

LogicalResult RMSNormOp::verify() {
  return verifyNorm(*this, getInput(), getWeight(), getEps().convertToDouble());
}

LogicalResult LayerNormOp::verify() {
  return verifyNorm(*this, getInput(), getWeight(), getEps().convertToDouble());
}

LogicalResult RoPEOp::verify() {
  if (failed(checkRank(*this, "input", getInput().getType(), 2)))
    return failure();
  int64_t headDim = getHeadDim();
  if (failed(checkAtLeast(*this, "head_dim", headDim, 2)))
    return failure();
  if (headDim % 2 != 0)
    return emitOpError() << "head_dim must be even, got " << headDim;
  if (failed(checkDivides(*this, "head_dim", headDim, "the input width",
                          shapeOf(getInput())[1])) ||
      failed(verifySequenceLength(*this, getSeqLength(), getInput())))
    return failure();
  return checkPositive(*this, "theta", getTheta().convertToDouble());
}

LogicalResult AttentionOp::verify() {
  if (failed(checkRank(*this, "query", getQuery().getType(), 2)) ||
      failed(checkRank(*this, "key", getKey().getType(), 2)))
    return failure();
  ArrayRef<int64_t> query = shapeOf(getQuery());
  int64_t heads = getNumHeads(), kvHeads = getNumKvHeads();
  if (failed(checkDivides(*this, "num_heads", heads, "the query width",
                          query[1])) ||
      failed(checkDivides(*this, "num_kv_heads", kvHeads, "num_heads", heads)))
    return failure();
  int64_t headDim = query[1] / heads;
  if (failed(checkShape(*this, "key", getKey().getType(),
                        {query[0], kvHeads * headDim})))
    return failure();
  return verifySequenceLength(*this, getSeqLength(), getQuery());
}

LogicalResult SigmoidGateOp::verify() {
  if (failed(checkRank(*this, "input", getInput().getType(), 2)))
    return failure();
  return checkShape(*this, "gate", getGate().getType(),
                    {shapeOf(getInput())[0], 1});
}

OpFoldResult AddOp::fold(FoldAdaptor adaptor) {
  if (matchPattern(adaptor.getRhs(), m_AnyZeroFloat()))
    return getLhs();
  if (matchPattern(adaptor.getLhs(), m_AnyZeroFloat()))
    return getRhs();
  return {};
}

LogicalResult CrossEntropyOp::verify() {
  if (failed(checkRank(*this, "logits", getLogits().getType(), 2)))
    return failure();
  int64_t tokens = shapeOf(getLogits())[0];
  if (failed(checkShape(*this, "labels", getLabels().getType(), {tokens})))
    return failure();
  if (Value mask = getLossMask())
    return checkShape(*this, "loss_mask", mask.getType(), {tokens});
  return success();
}

LogicalResult AdamWOp::verify() {
  if (failed(checkInRange(*this, "beta1", getBeta1().convertToDouble(), 0.0,
                          1.0, /*openLow=*/false)) ||
      failed(checkInRange(*this, "beta2", getBeta2().convertToDouble(), 0.0,
                          1.0, /*openLow=*/false)) ||
      failed(checkPositive(*this, "eps", getEps().convertToDouble())))
    return failure();
  return checkNonNegative(*this, "weight_decay",
                          getWeightDecay().convertToDouble());
}
