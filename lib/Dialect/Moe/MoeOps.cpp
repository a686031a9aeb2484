//===- MoeOps.cpp - verifiers and folders of the moe dialect --------------===//

#include "moe/Dialect/Moe/MoeOps.h"
#include "moe/Dialect/Utils/VerifyUtils.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/FunctionInterfaces.h"

#include <cmath>

using namespace mlir;
using namespace mlir::moe;
using namespace mlir::verify_utils;

#define GET_OP_CLASSES
#include "moe/MoeOps.cpp.inc"

static ArrayRef<int64_t> shapeOf(Value value) {
  return cast<ShapedType>(value.getType()).getShape();
}

/// Checks `1 <= k <= numExperts` for a routing op choosing k experts per token.
static LogicalResult verifyTopK(Operation *op, int64_t k, int64_t numExperts) {
  if (failed(checkAtLeast(op, "k", k, 1)))
    return failure();
  if (k <= numExperts)
    return success();
  return op->emitOpError() << "k (" << k << ") exceeds the number of experts ("
                           << numExperts << ")";
}

/// Checks the [T, E] logits and the [T, k] weights and indices of a
/// token-choice router.
static LogicalResult verifyTokenChoice(Operation *op, Value logits, int64_t k,
                                       Value weights, Value indices) {
  if (failed(checkRank(op, "logits", logits.getType(), 2)))
    return failure();
  int64_t tokens = shapeOf(logits)[0], experts = shapeOf(logits)[1];
  if (failed(verifyTopK(op, k, experts)))
    return failure();
  if (failed(checkShape(op, "weights", weights.getType(), {tokens, k})))
    return failure();
  return checkShape(op, "indices", indices.getType(), {tokens, k});
}

/// Checks the operands and results shared by moe.permute and
/// moe.gather_grouped_matmul; `numRows` is the row count of the permuted
/// buffer (or of the GEMM output that stands for it).
static LogicalResult verifyDispatch(Operation *op, Value input, Value indices,
                                    Value mask, std::optional<int64_t> capacity,
                                    int64_t numRows, Value groupSizes) {
  if (failed(checkRank(op, "input", input.getType(), 2)) ||
      failed(checkRank(op, "indices", indices.getType(), 2)) ||
      failed(checkRank(op, "group_sizes", groupSizes.getType(), 1)))
    return failure();
  int64_t tokens = shapeOf(indices)[0], k = shapeOf(indices)[1];
  int64_t experts = shapeOf(groupSizes)[0];
  if (failed(checkEqual(op, "indices token count", tokens, "input token count",
                        shapeOf(input)[0])))
    return failure();
  if (mask && failed(checkShape(op, "mask", mask.getType(), {tokens, k})))
    return failure();
  if (!capacity)
    return checkEqual(op, "row count", numRows, "the dropless bound T * k",
                      tokens * k);
  if (failed(checkAtLeast(op, "capacity", *capacity, 1)))
    return failure();
  if (!mask)
    return op->emitOpError()
           << "a padded layout (capacity) needs the keep-mask of moe.capacity";
  return checkEqual(op, "row count", numRows, "the padded bound E * C",
                    experts * *capacity);
}

/// Checks a stacked [E, N, K] expert weight against [R, K] rows and [E] group
/// sizes, and returns N through `outFeatures`.
static LogicalResult verifyExpertWeight(Operation *op, Value weight,
                                        int64_t rowWidth, Value groupSizes,
                                        int64_t &outFeatures) {
  if (failed(checkRank(op, "weight", weight.getType(), 3)) ||
      failed(checkRank(op, "group_sizes", groupSizes.getType(), 1)))
    return failure();
  ArrayRef<int64_t> shape = shapeOf(weight);
  if (failed(checkEqual(op, "weight expert count", shape[0], "group count",
                        shapeOf(groupSizes)[0])) ||
      failed(checkEqual(op, "weight in-features", shape[2], "row width",
                        rowWidth)))
    return failure();
  outFeatures = shape[1];
  return success();
}

/// Checks the [T, k] row map and combine weights of an unpermute and its
/// [T, width] output.
static LogicalResult verifyCombine(Operation *op, Value rowMap, Value weights,
                                   int64_t width, Value output) {
  if (failed(checkRank(op, "row_map", rowMap.getType(), 2)))
    return failure();
  if (failed(checkShape(op, "weights", weights.getType(), shapeOf(rowMap))))
    return failure();
  return checkShape(op, "output", output.getType(),
                    {shapeOf(rowMap)[0], width});
}

/// A zero-coefficient loss is the constant 0.
static OpFoldResult foldZeroCoefficient(double coeff, Type resultType) {
  if (coeff != 0.0)
    return {};
  return DenseElementsAttr::get(cast<ShapedType>(resultType), 0.0f);
}

//===----------------------------------------------------------------------===//
// Routing
//===----------------------------------------------------------------------===//

LogicalResult RouterOp::verify() {
  if (failed(checkRank(*this, "input", getInput().getType(), 2)) ||
      failed(checkRank(*this, "weight", getWeight().getType(), 2)))
    return failure();
  ArrayRef<int64_t> input = shapeOf(getInput()), weight = shapeOf(getWeight());
  if (failed(checkEqual(*this, "weight hidden size", weight[1],
                        "input hidden size", input[1])))
    return failure();
  return checkShape(*this, "logits", getLogits().getType(),
                    {input[0], weight[0]});
}

LogicalResult JitterOp::verify() {
  return checkInRange(*this, "eps", getEps().convertToDouble(), 0.0, 1.0,
                      /*openLow=*/true);
}

LogicalResult TopKOp::verify() {
  if (failed(verifyTokenChoice(*this, getLogits(), getK(), getWeights(),
                               getIndices())))
    return failure();
  if (getK() == 1 && getSoftmax() == SoftmaxPlacement::post)
    return emitOpError()
           << "top-1 with softmax after top-k gives every token weight 1 and "
              "the router no gradient; use softmax = pre (Switch)";
  return success();
}

LogicalResult SinkhornOp::verify() {
  if (failed(checkPositive(*this, "tol", getTol().convertToDouble())))
    return failure();
  return verifyTokenChoice(*this, getLogits(), getK(), getWeights(),
                           getIndices());
}

// Megatron evaluates a Sinkhorn router by the plain top-k of the logits.
bool SinkhornOp::convertToEvaluation() {
  if (getEvaluation())
    return false;
  setEvaluation(true);
  return true;
}

int64_t ExpertChoiceOp::computeCapacity(int64_t numTokens, int64_t numExperts,
                                        double capacityFactor) {
  // Flaxformer's int(round(factor * tokens / experts)): Python rounds half to
  // even, as nearbyint does in the default rounding mode.
  auto capacity = static_cast<int64_t>(std::nearbyint(
      capacityFactor * static_cast<double>(numTokens) / numExperts));
  return std::clamp<int64_t>(capacity, 1, numTokens);
}

LogicalResult ExpertChoiceOp::verify() {
  if (failed(checkRank(*this, "logits", getLogits().getType(), 2)))
    return failure();
  ArrayRef<int64_t> logits = shapeOf(getLogits());
  if (failed(checkShape(*this, "weights", getWeights().getType(), logits)) ||
      failed(checkShape(*this, "indices", getIndices().getType(), logits)) ||
      failed(checkShape(*this, "keep", getKeep().getType(), logits)))
    return failure();
  return checkPositive(*this, "capacity_factor",
                       getCapacityFactor().convertToDouble());
}

// Each expert takes only its chosen tokens of the [T, E] layout.
Value ExpertChoiceOp::getRoutingMask() { return getKeep(); }

//===----------------------------------------------------------------------===//
// Auxiliary losses
//===----------------------------------------------------------------------===//

LogicalResult AuxLossOp::verify() {
  if (failed(checkRank(*this, "logits", getLogits().getType(), 2)) ||
      failed(checkRank(*this, "indices", getIndices().getType(), 2)))
    return failure();
  ArrayRef<int64_t> logits = shapeOf(getLogits());
  ArrayRef<int64_t> indices = shapeOf(getIndices());
  if (failed(checkEqual(*this, "indices token count", indices[0],
                        "logits token count", logits[0])) ||
      failed(verifyTopK(*this, indices[1], logits[1])) ||
      failed(checkNonNegative(*this, "coeff", getCoeff().convertToDouble())))
    return failure();
  if (std::optional<int64_t> seqLength = getSeqLength())
    return checkDivides(*this, "seq_length", *seqLength, "the token count",
                        logits[0]);
  return success();
}

OpFoldResult AuxLossOp::fold(FoldAdaptor) {
  return foldZeroCoefficient(getCoeff().convertToDouble(), getType());
}

LogicalResult ZLossOp::verify() {
  if (failed(checkRank(*this, "logits", getLogits().getType(), 2)))
    return failure();
  return checkNonNegative(*this, "coeff", getCoeff().convertToDouble());
}

OpFoldResult ZLossOp::fold(FoldAdaptor) {
  return foldZeroCoefficient(getCoeff().convertToDouble(), getType());
}

//===----------------------------------------------------------------------===//
// Capacity and dispatch
//===----------------------------------------------------------------------===//

int64_t CapacityOp::computeCapacity(int64_t numTokens, int64_t topK,
                                    int64_t numExperts, double capacityFactor) {
  double perExpert = static_cast<double>(numTokens) *
                     static_cast<double>(topK) /
                     static_cast<double>(numExperts);
  return static_cast<int64_t>(std::ceil(perExpert * capacityFactor));
}

LogicalResult CapacityOp::verify() {
  if (failed(checkRank(*this, "weights", getWeights().getType(), 2)) ||
      failed(checkShape(*this, "indices", getIndices().getType(),
                        shapeOf(getWeights()))) ||
      failed(checkShape(*this, "keep", getKeep().getType(),
                        shapeOf(getWeights()))) ||
      failed(checkRank(*this, "counts", getCounts().getType(), 1)))
    return failure();
  if (failed(
          verifyTopK(*this, shapeOf(getWeights())[1], shapeOf(getCounts())[0])))
    return failure();
  return checkPositive(*this, "capacity_factor",
                       getCapacityFactor().convertToDouble());
}

LogicalResult PermuteOp::verify() {
  if (failed(checkRank(*this, "rows", getRows().getType(), 2)))
    return failure();
  if (failed(verifyDispatch(*this, getInput(), getIndices(), getMask(),
                            getCapacity(), shapeOf(getRows())[0],
                            getGroupSizes())))
    return failure();
  return checkEqual(*this, "row width", shapeOf(getRows())[1], "input width",
                    shapeOf(getInput())[1]);
}

LogicalResult UnpermuteOp::verify() {
  if (failed(checkRank(*this, "rows", getRows().getType(), 2)))
    return failure();
  return verifyCombine(*this, getRowMap(), getWeights(), shapeOf(getRows())[1],
                       getOutput());
}

//===----------------------------------------------------------------------===//
// Expert computation
//===----------------------------------------------------------------------===//

LogicalResult GroupedMatmulOp::verify() {
  if (failed(checkRank(*this, "rows", getRows().getType(), 2)))
    return failure();
  ArrayRef<int64_t> rows = shapeOf(getRows());
  int64_t outFeatures = 0;
  if (failed(verifyExpertWeight(*this, getWeight(), rows[1], getGroupSizes(),
                                outFeatures)))
    return failure();
  return checkShape(*this, "output", getOutput().getType(),
                    {rows[0], outFeatures});
}

LogicalResult GatherGroupedMatmulOp::verify() {
  if (failed(checkRank(*this, "output", getOutput().getType(), 2)))
    return failure();
  int64_t numRows = shapeOf(getOutput())[0];
  if (failed(verifyDispatch(*this, getInput(), getIndices(), getMask(),
                            getCapacity(), numRows, getGroupSizes())))
    return failure();
  int64_t outFeatures = 0;
  if (failed(verifyExpertWeight(*this, getWeight(), shapeOf(getInput())[1],
                                getGroupSizes(), outFeatures)))
    return failure();
  return checkShape(*this, "output", getOutput().getType(),
                    {numRows, outFeatures});
}

LogicalResult GroupedMatmulScatterOp::verify() {
  if (failed(checkRank(*this, "rows", getRows().getType(), 2)))
    return failure();
  int64_t outFeatures = 0;
  if (failed(verifyExpertWeight(*this, getWeight(), shapeOf(getRows())[1],
                                getGroupSizes(), outFeatures)))
    return failure();
  return verifyCombine(*this, getRowMap(), getWeights(), outFeatures,
                       getOutput());
}

//===----------------------------------------------------------------------===//
// Collectives
//===----------------------------------------------------------------------===//

/// Checks that `output` has the element type of `input` and, past dimension
/// `firstDim`, its dimensions.
static LogicalResult verifySameTrailingShape(Operation *op, Value input,
                                             Value output, unsigned firstDim) {
  auto inputType = cast<RankedTensorType>(input.getType());
  auto outputType = cast<RankedTensorType>(output.getType());
  if (inputType.getElementType() != outputType.getElementType())
    return op->emitOpError()
           << "output element type " << outputType.getElementType()
           << " does not match input element type "
           << inputType.getElementType();
  if (failed(checkRank(op, "output", outputType, inputType.getRank())))
    return failure();
  for (unsigned dim = firstDim; dim < inputType.getRank(); ++dim) {
    if (inputType.getDimSize(dim) != outputType.getDimSize(dim))
      return op->emitOpError()
             << "output dimension " << dim << " (" << outputType.getDimSize(dim)
             << ") does not match input dimension " << dim << " ("
             << inputType.getDimSize(dim) << ")";
  }
  return success();
}

/// Checks the group size and that the tensor has a dimension 0 to split.
static LogicalResult verifyCollective(Operation *op, int64_t size,
                                      Value input) {
  if (failed(checkAtLeast(op, "group size", size, 1)))
    return failure();
  if (cast<ShapedType>(input.getType()).getRank() >= 1)
    return success();
  return op->emitOpError() << "expects input of rank at least 1, got rank 0";
}

/// A collective over a group of one rank is the identity.
static OpFoldResult foldSingleRank(int64_t size, Value input, Type resultType) {
  if (size == 1 && input.getType() == resultType)
    return input;
  return {};
}

LogicalResult AllToAllVOp::verify() {
  int64_t size = getSize();
  if (failed(verifyCollective(*this, size, getInput())) ||
      failed(
          checkShape(*this, "send_sizes", getSendSizes().getType(), {size})) ||
      failed(checkShape(*this, "recv_sizes", getRecvSizes().getType(), {size})))
    return failure();
  return verifySameTrailingShape(*this, getInput(), getOutput(), 1);
}

OpFoldResult AllToAllVOp::fold(FoldAdaptor) {
  return foldSingleRank(getSize(), getInput(), getType());
}

LogicalResult AllGatherOp::verify() {
  int64_t size = getSize();
  if (failed(verifyCollective(*this, size, getInput())) ||
      failed(verifySameTrailingShape(*this, getInput(), getOutput(), 1)))
    return failure();
  return checkEqual(*this, "output dimension 0", shapeOf(getOutput())[0],
                    "group size times input dimension 0",
                    size * shapeOf(getInput())[0]);
}

OpFoldResult AllGatherOp::fold(FoldAdaptor) {
  return foldSingleRank(getSize(), getInput(), getType());
}

LogicalResult ReduceScatterOp::verify() {
  int64_t size = getSize();
  if (failed(verifyCollective(*this, size, getInput())) ||
      failed(verifySameTrailingShape(*this, getInput(), getOutput(), 1)))
    return failure();
  int64_t rows = shapeOf(getInput())[0];
  if (failed(
          checkDivides(*this, "group size", size, "input dimension 0", rows)))
    return failure();
  return checkEqual(*this, "output dimension 0", shapeOf(getOutput())[0],
                    "input dimension 0 over the group size", rows / size);
}

OpFoldResult ReduceScatterOp::fold(FoldAdaptor) {
  return foldSingleRank(getSize(), getInput(), getType());
}

LogicalResult AllReduceOp::verify() {
  return checkAtLeast(*this, "group size", getSize(), 1);
}

OpFoldResult AllReduceOp::fold(FoldAdaptor) {
  return foldSingleRank(getSize(), getInput(), getType());
}

//===----------------------------------------------------------------------===//
// The backward pass
//===----------------------------------------------------------------------===//

LogicalResult BeginBackwardOp::verify() {
  auto function = dyn_cast<FunctionOpInterface>((*this)->getParentOp());
  if (!function)
    return emitOpError("must be directly in a function body");
  // The second one is at fault.
  for (Operation &op : (*this)->getBlock()->getOperations()) {
    if (&op == getOperation())
      break;
    if (isa<BeginBackwardOp>(op))
      return emitOpError("must be the only one of its function");
  }
  return success();
}

LogicalResult DispatchCountsOp::verify() {
  int64_t size = getSize();
  if (failed(checkAtLeast(*this, "group size", size, 1)) ||
      failed(checkRank(*this, "counts", getCounts().getType(), 1)))
    return failure();
  int64_t all = shapeOf(getCounts())[0];
  if (failed(
          checkDivides(*this, "group size", size, "counts dimension 0", all)))
    return failure();
  int64_t experts = all / size;
  if (failed(
          checkDivides(*this, "group size", size, "the expert count", experts)))
    return failure();
  int64_t local = experts / size;
  if (failed(
          checkShape(*this, "send_sizes", getSendSizes().getType(), {size})) ||
      failed(
          checkShape(*this, "recv_sizes", getRecvSizes().getType(), {size})) ||
      failed(checkShape(*this, "chunk_sizes", getChunkSizes().getType(),
                        {size * local})))
    return failure();
  return checkShape(*this, "local_sizes", getLocalSizes().getType(), {local});
}

LogicalResult SortChunksOp::verify() {
  if (failed(checkAtLeast(*this, "sources", getSources(), 1)) ||
      failed(checkRank(*this, "chunk_sizes", getChunkSizes().getType(), 1)))
    return failure();
  if (shapeOf(getInput()).empty())
    return emitOpError() << "expects input of rank at least 1, got rank 0";
  return checkDivides(*this, "sources", getSources(), "chunk_sizes dimension 0",
                      shapeOf(getChunkSizes())[0]);
}

LogicalResult LocalExpertsOp::verify() {
  if (failed(checkAtLeast(*this, "group size", getSize(), 1)) ||
      failed(checkRank(*this, "indices", getIndices().getType(), 2)))
    return failure();
  if (getMask() && getMask().getType().getShape() !=
                       cast<ShapedType>(getIndices().getType()).getShape())
    return emitOpError("expects a mask of the shape of the indices");
  return checkDivides(*this, "group size", getSize(), "experts", getExperts());
}

/// Checks that `flat` (named `flatName`) is a vector with room for every
/// element of `shaped` (named `shapedName`): moe.flatten's output and input,
/// moe.unflatten's input and output.
static LogicalResult verifyFlatHolds(Operation *op, StringRef flatName,
                                     Value flat, StringRef shapedName,
                                     Value shaped) {
  if (failed(checkRank(op, flatName, flat.getType(), 1)))
    return failure();
  int64_t elements = cast<ShapedType>(shaped.getType()).getNumElements();
  if (shapeOf(flat)[0] < elements)
    return op->emitOpError()
           << "expects an " << flatName << " of at least the " << shapedName
           << "'s " << elements << " elements, got " << shapeOf(flat)[0];
  return success();
}

LogicalResult FlattenOp::verify() {
  return verifyFlatHolds(*this, "output", getOutput(), "input", getInput());
}

LogicalResult UnflattenOp::verify() {
  return verifyFlatHolds(*this, "input", getInput(), "output", getOutput());
}

LogicalResult LocalShardOp::verify() {
  if (failed(checkAtLeast(*this, "group size", getSize(), 1)) ||
      failed(checkRank(*this, "input", getInput().getType(), 1)) ||
      failed(checkRank(*this, "output", getType(), 1)))
    return failure();
  return checkEqual(*this, "input length", shapeOf(getInput())[0],
                    "group size times output length",
                    getSize() * shapeOf(getOutput())[0]);
}

Value mlir::moe::expertsKeepMask(RoutingOpInterface routing, bool &drops) {
  drops = false;
  for (Operation *user : routing.getRoutingIndices().getUsers())
    if (auto capacity = dyn_cast<CapacityOp>(user))
      if (!MoeDialect::RecomputedAttrHelper(capacity->getContext())
               .isAttrPresent(capacity)) {
        drops = true;
        return capacity.getKeep();
      }
  return routing.getRoutingMask();
}
