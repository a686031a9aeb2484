//===- NNGradients.cpp - VJPs of the nn ops and their backward ops --------===//
//
// Each forward op writes its vector-Jacobian product with the backward ops of
// NNGradOps.td; this file also verifies those ops and the optimizer's.
//
//===----------------------------------------------------------------------===//

#include "moe/Dialect/NN/NNOps.h"
#include "moe/Dialect/Utils/VerifyUtils.h"

using namespace mlir;
using namespace mlir::nn;
using namespace mlir::verify_utils;

static ArrayRef<int64_t> shapeOf(Value value) {
  return cast<ShapedType>(value.getType()).getShape();
}

static Type typeOf(Value value) { return value.getType(); }

//===----------------------------------------------------------------------===//
// Vector-Jacobian products
//===----------------------------------------------------------------------===//

LogicalResult EmbeddingOp::buildVJP(OpBuilder &b, ArrayRef<Value> resultGrads,
                                    SmallVectorImpl<Value> &operandGrads) {
  operandGrads[1] = b.create<EmbeddingGradOp>(
      getLoc(), typeOf(getTable()), getIds(), resultGrads[0], Value());
  return success();
}

LogicalResult LinearOp::buildVJP(OpBuilder &b, ArrayRef<Value> resultGrads,
                                 SmallVectorImpl<Value> &operandGrads) {
  Value dy = resultGrads[0];
  operandGrads[0] = b.create<LinearGradInputOp>(getLoc(), typeOf(getInput()),
                                                dy, getWeight());
  operandGrads[1] = b.create<LinearGradWeightOp>(getLoc(), typeOf(getWeight()),
                                                 dy, getInput(), Value());
  if (Value bias = getBias())
    operandGrads[2] = b.create<BiasGradOp>(getLoc(), typeOf(bias), dy);
  return success();
}

LogicalResult RMSNormOp::buildVJP(OpBuilder &b, ArrayRef<Value> resultGrads,
                                  SmallVectorImpl<Value> &operandGrads) {
  auto grad = b.create<RMSNormGradOp>(getLoc(), resultGrads[0], getInput(),
                                      getWeight(), getEpsAttr());
  operandGrads[0] = grad.getGradInput();
  operandGrads[1] = grad.getGradWeight();
  return success();
}

LogicalResult LayerNormOp::buildVJP(OpBuilder &b, ArrayRef<Value> resultGrads,
                                    SmallVectorImpl<Value> &operandGrads) {
  auto grad = b.create<LayerNormGradOp>(getLoc(), resultGrads[0], getInput(),
                                        getWeight(), getEpsAttr());
  operandGrads[0] = grad.getGradInput();
  operandGrads[1] = grad.getGradWeight();
  operandGrads[2] = grad.getGradBias();
  return success();
}

LogicalResult RoPEOp::buildVJP(OpBuilder &b, ArrayRef<Value> resultGrads,
                               SmallVectorImpl<Value> &operandGrads) {
  operandGrads[0] =
      b.create<RoPEGradOp>(getLoc(), resultGrads[0], getHeadDimAttr(),
                           getSeqLengthAttr(), getThetaAttr());
  return success();
}

LogicalResult AttentionOp::buildVJP(OpBuilder &b, ArrayRef<Value> resultGrads,
                                    SmallVectorImpl<Value> &operandGrads) {
  auto grad = b.create<AttentionGradOp>(
      getLoc(), resultGrads[0], getQuery(), getKey(), getValue(),
      getNumHeadsAttr(), getNumKvHeadsAttr(), getSeqLengthAttr());
  operandGrads[0] = grad.getGradQuery();
  operandGrads[1] = grad.getGradKey();
  operandGrads[2] = grad.getGradValue();
  return success();
}

LogicalResult SwiGLUOp::buildVJP(OpBuilder &b, ArrayRef<Value> resultGrads,
                                 SmallVectorImpl<Value> &operandGrads) {
  auto grad =
      b.create<SwiGLUGradOp>(getLoc(), resultGrads[0], getGate(), getUp());
  operandGrads[0] = grad.getGradGate();
  operandGrads[1] = grad.getGradUp();
  return success();
}

LogicalResult GeLUOp::buildVJP(OpBuilder &b, ArrayRef<Value> resultGrads,
                               SmallVectorImpl<Value> &operandGrads) {
  operandGrads[0] = b.create<GeLUGradOp>(getLoc(), resultGrads[0], getInput(),
                                         getApproximateAttr());
  return success();
}

LogicalResult SigmoidGateOp::buildVJP(OpBuilder &b, ArrayRef<Value> resultGrads,
                                      SmallVectorImpl<Value> &operandGrads) {
  auto grad = b.create<SigmoidGateGradOp>(getLoc(), resultGrads[0], getInput(),
                                          getGate());
  operandGrads[0] = grad.getGradInput();
  operandGrads[1] = grad.getGradGate();
  return success();
}

LogicalResult AddOp::buildVJP(OpBuilder &, ArrayRef<Value> resultGrads,
                              SmallVectorImpl<Value> &operandGrads) {
  operandGrads[0] = operandGrads[1] = resultGrads[0];
  return success();
}

LogicalResult CrossEntropyOp::buildVJP(OpBuilder &b,
                                       ArrayRef<Value> resultGrads,
                                       SmallVectorImpl<Value> &operandGrads) {
  // The loss mask is data, not a function of the parameters.
  operandGrads[0] = b.create<CrossEntropyGradOp>(
      getLoc(), resultGrads[0], getLogits(), getLabels(), getLossMask());
  return success();
}

//===----------------------------------------------------------------------===//
// Verifiers of the backward and optimizer ops
//===----------------------------------------------------------------------===//

LogicalResult EmbeddingGradOp::verify() {
  if (failed(checkRank(*this, "ids", getIds().getType(), 1)) ||
      failed(checkRank(*this, "grad_output", getGradOutput().getType(), 2)) ||
      failed(checkRank(*this, "grad_table", getGradTable().getType(), 2)) ||
      failed(checkEqual(*this, "grad_output token count",
                        shapeOf(getGradOutput())[0], "id count",
                        shapeOf(getIds())[0])))
    return failure();
  return checkEqual(*this, "grad_table width", shapeOf(getGradTable())[1],
                    "grad_output width", shapeOf(getGradOutput())[1]);
}

/// Checks a [T, out] gradient against a weight-like [out, in] operand.
static LogicalResult verifyMatrices(Operation *op, Value gradOutput,
                                    Value other, StringRef otherName) {
  if (failed(checkRank(op, "grad_output", gradOutput.getType(), 2)))
    return failure();
  return checkRank(op, otherName, other.getType(), 2);
}

LogicalResult LinearGradInputOp::verify() {
  if (failed(verifyMatrices(*this, getGradOutput(), getWeight(), "weight")))
    return failure();
  ArrayRef<int64_t> dy = shapeOf(getGradOutput()), w = shapeOf(getWeight());
  if (failed(checkEqual(*this, "weight out-features", w[0], "grad_output width",
                        dy[1])))
    return failure();
  return checkShape(*this, "grad_input", getGradInput().getType(),
                    {dy[0], w[1]});
}

LogicalResult LinearGradWeightOp::verify() {
  if (failed(verifyMatrices(*this, getGradOutput(), getInput(), "input")))
    return failure();
  ArrayRef<int64_t> dy = shapeOf(getGradOutput()), x = shapeOf(getInput());
  if (failed(checkEqual(*this, "input token count", x[0],
                        "grad_output token count", dy[0])))
    return failure();
  return checkShape(*this, "grad_weight", getGradWeight().getType(),
                    {dy[1], x[1]});
}

LogicalResult BiasGradOp::verify() {
  if (failed(checkRank(*this, "grad_output", getGradOutput().getType(), 2)))
    return failure();
  return checkShape(*this, "grad_bias", getGradBias().getType(),
                    {shapeOf(getGradOutput())[1]});
}

LogicalResult LRScheduleOp::verify() {
  double lr = getLr().convertToDouble(), minLr = getMinLr().convertToDouble();
  // The attributes are signed; the generated getters return them unsigned.
  int64_t warmup = getWarmupItersAttr().getInt();
  if (failed(checkNonNegative(*this, "min_lr", minLr)) ||
      failed(checkNonNegative(*this, "warmup_iters", warmup)))
    return failure();
  if (minLr > lr)
    return emitOpError() << "min_lr (" << minLr << ") exceeds lr (" << lr
                         << ")";
  if (getDecayItersAttr() && getTrainIters())
    return emitOpError("takes its decay length from decay_iters or from "
                       "train_iters, not both");
  if (getStyle() == LRDecayStyle::constant)
    return success();
  if (!getDecayItersAttr() && !getTrainIters())
    return emitOpError() << "decays (" << stringifyLRDecayStyle(getStyle())
                         << ") but has neither decay_iters nor train_iters";
  if (auto decay = getDecayItersAttr(); decay && decay.getInt() <= warmup)
    return emitOpError() << "decay_iters (" << decay.getInt()
                         << ") must exceed warmup_iters (" << warmup << ")";
  return success();
}

/// The clipping bound and the micro-batch scale of a clipping op.
static LogicalResult verifyClipping(Operation *op, double maxNorm,
                                    double scale) {
  if (failed(checkNonNegative(op, "max_norm", maxNorm)))
    return failure();
  if (!(scale > 0.0 && scale <= 1.0))
    return op->emitOpError() << "scale must be in (0, 1], got " << scale;
  return success();
}

LogicalResult ClipGradNormOp::verify() {
  if (getGrads().empty())
    return emitOpError("needs at least one gradient");
  return verifyClipping(*this, getMaxNorm().convertToDouble(),
                        getScale().convertToDouble());
}

LogicalResult SquareNormOp::verify() {
  if (getGrads().empty())
    return emitOpError("needs at least one gradient");
  return success();
}

LogicalResult ClipFactorOp::verify() {
  return verifyClipping(*this, getMaxNorm().convertToDouble(),
                        getScale().convertToDouble());
}
