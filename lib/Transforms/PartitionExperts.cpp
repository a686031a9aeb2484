//===- PartitionExperts.cpp - experts sharded over the ep group -----------===//
//
// Every MoE layer of the graph builder has one shape: moe.permute, then the
// experts (grouped GEMMs and their activation) over the permuted rows, then
// moe.unpermute. The pass slices the experts' weights and wraps the experts
// in a dispatcher (alltoall, allgather or replicated); everything outside
// the experts stays as it is.
//
//===----------------------------------------------------------------------===//

#include "moe/Dialect/Moe/MoeOps.h"
#include "moe/Dialect/NN/NNOps.h"
#include "moe/Transforms/Passes.h"
#include "moert/PlanNames.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"

#include "llvm/ADT/SetVector.h"

namespace mlir::moe {
#define GEN_PASS_DEF_PARTITIONEXPERTS
#include "moe/Transforms/Passes.h.inc"
} // namespace mlir::moe

using namespace mlir;
using moe::MoeDialect;

namespace {

struct PartitionExpertsPass
    : public moe::impl::PartitionExpertsBase<PartitionExpertsPass> {
  using PartitionExpertsBase::PartitionExpertsBase;
  void runOnOperation() override;

private:
  LogicalResult partition(func::FuncOp function, moe::PermuteOp permute);
  /// Megatron's alltoall dispatcher: the rows travel to their experts'
  /// members and back.
  LogicalResult dispatchAllToAll(func::FuncOp function, moe::PermuteOp permute,
                                 moe::UnpermuteOp unpermute,
                                 ArrayRef<Operation *> expertOps);
  /// Each member permutes the tokens for its own experts and the members'
  /// outputs add up: the tokens of every member, gathered (allgather), or
  /// the group's shared tokens (replicated).
  LogicalResult dispatchLocally(func::FuncOp function, moe::PermuteOp permute,
                                moe::UnpermuteOp unpermute,
                                ArrayRef<Operation *> expertOps, bool gather);
  /// Points the experts at their new rows and group sizes, slices their
  /// weights and gives their results the rows' count.
  LogicalResult rewireExperts(func::FuncOp function,
                              ArrayRef<Operation *> expertOps, Value oldRows,
                              Value rows, Value localSizes);
  /// Slices an expert weight argument to this member's experts.
  LogicalResult shardWeight(func::FuncOp function, moe::GroupedMatmulOp gemm);
};

RankedTensorType withRows(Type type, int64_t rows) {
  auto tensor = cast<RankedTensorType>(type);
  SmallVector<int64_t> shape(tensor.getShape());
  shape[0] = rows;
  return RankedTensorType::get(shape, tensor.getElementType());
}

LogicalResult PartitionExpertsPass::shardWeight(func::FuncOp function,
                                                moe::GroupedMatmulOp gemm) {
  auto arg = dyn_cast<BlockArgument>(gemm.getWeight());
  if (!arg ||
      !function.getArgAttr(arg.getArgNumber(), MoeDialect::getParamAttrName()))
    return gemm.emitOpError("has a weight that is not a parameter: its "
                            "experts cannot be sharded");
  unsigned index = arg.getArgNumber();
  if (function.getArgAttr(index, MoeDialect::getExpertShardsAttrName()))
    return success(); // shared by two GEMMs
  for (Operation *user : arg.getUsers())
    if (!isa<moe::GroupedMatmulOp>(user))
      return user->emitOpError("uses an expert weight: only moe.grouped_matmul "
                               "may, for the experts to be sharded");
  int64_t experts = cast<ShapedType>(arg.getType()).getDimSize(0);
  arg.setType(withRows(arg.getType(), experts / expertParallel));
  function.setArgAttr(index, MoeDialect::getExpertShardsAttrName(),
                      Builder(&getContext()).getI64IntegerAttr(expertParallel));
  return success();
}

/// The experts of a layer: every op its permuted rows reach before the
/// combine, which must be grouped GEMMs and their activation only.
FailureOr<llvm::SetVector<Operation *>>
collectExperts(moe::PermuteOp permute, moe::UnpermuteOp unpermute) {
  llvm::SetVector<Operation *> expertOps;
  Value rows = permute.getRows();
  SmallVector<Operation *> work(rows.getUsers().begin(), rows.getUsers().end());
  while (!work.empty()) {
    Operation *op = work.pop_back_val();
    if (op == unpermute || !expertOps.insert(op))
      continue;
    if (!isa<moe::GroupedMatmulOp, nn::SwiGLUOp, nn::GeLUOp>(op))
      return op->emitOpError("lies between moe.permute and moe.unpermute: "
                             "only grouped GEMMs and their activation can "
                             "run on the experts' ranks");
    for (Operation *user : op->getUsers())
      work.push_back(user);
  }
  if (unpermute.getRows().getDefiningOp() == permute ||
      !expertOps.contains(unpermute.getRows().getDefiningOp()))
    return unpermute.emitOpError("combines rows that no expert computed");
  for (Operation *user : permute.getRowMap().getUsers())
    if (user != unpermute)
      return user->emitOpError("uses the expert row map: only the layer's "
                               "moe.unpermute may, for the experts to be "
                               "sharded");
  for (Operation *user : permute.getGroupSizes().getUsers())
    if (!isa<moe::GroupedMatmulOp>(user))
      return user->emitOpError("uses the expert group sizes: only "
                               "moe.grouped_matmul may, for the experts to "
                               "be sharded");
  return expertOps;
}

LogicalResult PartitionExpertsPass::rewireExperts(
    func::FuncOp function, ArrayRef<Operation *> expertOps, Value oldRows,
    Value rows, Value localSizes) {
  int64_t bound = cast<ShapedType>(rows.getType()).getDimSize(0);
  for (Operation *op : expertOps) {
    if (auto gemm = dyn_cast<moe::GroupedMatmulOp>(op)) {
      if (failed(shardWeight(function, gemm)))
        return failure();
      if (gemm.getRows() == oldRows)
        gemm.getRowsMutable().assign(rows);
      gemm.getGroupSizesMutable().assign(localSizes);
    }
    for (OpResult result : op->getResults())
      result.setType(withRows(result.getType(), bound));
  }
  return success();
}

LogicalResult PartitionExpertsPass::partition(func::FuncOp function,
                                              moe::PermuteOp permute) {
  int64_t ep = expertParallel;
  int64_t experts =
      cast<ShapedType>(permute.getGroupSizes().getType()).getDimSize(0);
  if (experts % ep)
    return permute.emitOpError()
           << "routes to " << experts << " experts, which " << ep
           << " ranks cannot split evenly";
  moe::UnpermuteOp unpermute;
  for (Operation *user : permute.getRowMap().getUsers())
    if (auto combine = dyn_cast<moe::UnpermuteOp>(user))
      unpermute = combine;
  if (!unpermute)
    return permute.emitOpError("has no moe.unpermute of its rows");
  FailureOr<llvm::SetVector<Operation *>> expertOps =
      collectExperts(permute, unpermute);
  if (failed(expertOps))
    return failure();
  if (dispatcher == "alltoall")
    return dispatchAllToAll(function, permute, unpermute,
                            expertOps->getArrayRef());
  return dispatchLocally(function, permute, unpermute, expertOps->getArrayRef(),
                         /*gather=*/dispatcher == "allgather");
}

LogicalResult PartitionExpertsPass::dispatchAllToAll(
    func::FuncOp function, moe::PermuteOp permute, moe::UnpermuteOp unpermute,
    ArrayRef<Operation *> expertOps) {
  Value rows = permute.getRows(), sizes = permute.getGroupSizes();
  int64_t ep = expertParallel;
  int64_t experts = cast<ShapedType>(sizes.getType()).getDimSize(0);
  MLIRContext *context = &getContext();
  OpBuilder b(context);
  Location loc = permute.getLoc();
  auto group = moe::CommGroupAttr::get(context, moe::CommGroup::ep);
  IntegerAttr size = b.getI64IntegerAttr(ep);
  Type i32 = b.getI32Type();
  int64_t local = experts / ep;
  int64_t bound = ep * cast<ShapedType>(rows.getType()).getDimSize(0);
  auto counts = [&](int64_t n) { return RankedTensorType::get({n}, i32); };

  b.setInsertionPointAfter(permute);
  Value all =
      b.create<moe::AllGatherOp>(loc, counts(ep * experts), sizes, group, size);
  auto split = b.create<moe::DispatchCountsOp>(loc, counts(ep), counts(ep),
                                               counts(ep * local),
                                               counts(local), all, group, size);
  Value arrived = b.create<moe::AllToAllVOp>(
      loc, withRows(rows.getType(), bound), rows, split.getSendSizes(),
      split.getRecvSizes(), group, size);
  Value sorted = b.create<moe::SortChunksOp>(
      loc, arrived.getType(), arrived, split.getChunkSizes(),
      b.getI64IntegerAttr(ep), UnitAttr());
  if (failed(rewireExperts(function, expertOps, rows, sorted,
                           split.getLocalSizes())))
    return failure();

  b.setInsertionPoint(unpermute);
  Value computed = unpermute.getRows();
  Value unsorted = b.create<moe::SortChunksOp>(
      loc, computed.getType(), computed, split.getChunkSizes(),
      b.getI64IntegerAttr(ep), b.getUnitAttr());
  Value returned = b.create<moe::AllToAllVOp>(
      loc, withRows(computed.getType(), bound / ep), unsorted,
      split.getRecvSizes(), split.getSendSizes(), group, size);
  unpermute.getRowsMutable().assign(returned);
  return success();
}

LogicalResult PartitionExpertsPass::dispatchLocally(
    func::FuncOp function, moe::PermuteOp permute, moe::UnpermuteOp unpermute,
    ArrayRef<Operation *> expertOps, bool gather) {
  int64_t ep = expertParallel;
  int64_t experts =
      cast<ShapedType>(permute.getGroupSizes().getType()).getDimSize(0);
  int64_t local = experts / ep;
  MLIRContext *context = &getContext();
  OpBuilder b(context);
  Location loc = permute.getLoc();
  auto group = moe::CommGroupAttr::get(context, moe::CommGroup::ep);
  IntegerAttr size = b.getI64IntegerAttr(ep);
  // Every member's tokens, stacked in member order (allgather), or the
  // group's one set of tokens (replicated).
  auto gathered = [&](Value value) -> Value {
    if (!gather || !value)
      return value;
    auto type = cast<RankedTensorType>(value.getType());
    return b.create<moe::AllGatherOp>(
        loc, withRows(type, ep * type.getDimSize(0)), value, group, size);
  };
  b.setInsertionPoint(permute);
  Value input = gathered(permute.getInput());
  Value indices = gathered(permute.getIndices());
  Value mask = gathered(permute.getMask());
  Value weights = gathered(unpermute.getWeights());
  auto indicesType = cast<RankedTensorType>(indices.getType());
  auto select = b.create<moe::LocalExpertsOp>(
      loc, indicesType,
      RankedTensorType::get(indicesType.getShape(), b.getI1Type()), indices,
      mask, group, size, b.getI64IntegerAttr(experts));

  // A padded expert owns capacity rows of each member's tokens it sees.
  IntegerAttr capacity = permute.getCapacityAttr();
  int64_t rows = indicesType.getNumElements();
  if (capacity) {
    capacity = b.getI64IntegerAttr(capacity.getInt() * (gather ? ep : 1));
    rows = local * capacity.getInt();
  }
  auto localPermute = b.create<moe::PermuteOp>(
      loc, withRows(permute.getRows().getType(), rows), indicesType,
      RankedTensorType::get({local}, b.getI32Type()), input,
      select.getLocalIndices(), select.getKeep(), capacity);
  if (failed(rewireExperts(function, expertOps, permute.getRows(),
                           localPermute.getRows(),
                           localPermute.getGroupSizes())))
    return failure();

  b.setInsertionPoint(unpermute);
  auto outputType = cast<RankedTensorType>(unpermute.getType());
  Value combined = b.create<moe::UnpermuteOp>(
      loc, withRows(outputType, indicesType.getDimSize(0)), unpermute.getRows(),
      localPermute.getRowMap(), weights);
  // Each member holds its experts' share of every token's output: the
  // members' shares add up.
  Value output =
      gather ? b.create<moe::ReduceScatterOp>(loc, outputType, combined, group,
                                              size)
                   .getResult()
             : b.create<moe::AllReduceOp>(
                    loc, combined, group, size,
                    moe::ReductionAttr::get(context, moe::Reduction::sum))
                   .getResult();
  output.getDefiningOp()->setLoc(unpermute.getLoc());
  unpermute.replaceAllUsesWith(output);
  unpermute.erase();
  permute.erase();
  return success();
}

void PartitionExpertsPass::runOnOperation() {
  if (expertParallel < 1) {
    getOperation().emitError() << "ep must be at least 1, got "
                               << static_cast<int64_t>(expertParallel);
    return signalPassFailure();
  }
  if (dispatcher != "alltoall" && dispatcher != "allgather" &&
      dispatcher != "replicated") {
    getOperation().emitError() << "unknown dispatcher '" << dispatcher
                               << "' (alltoall, allgather or replicated)";
    return signalPassFailure();
  }
  if (expertParallel == 1)
    return;
  auto function =
      getOperation().lookupSymbol<func::FuncOp>(moert::names::forward);
  if (!function) {
    getOperation().emitError("has no func.func @forward to partition");
    return signalPassFailure();
  }
  SmallVector<moe::PermuteOp> layers(function.getOps<moe::PermuteOp>());
  for (moe::PermuteOp permute : layers)
    if (failed(partition(function, permute)))
      return signalPassFailure();
  function.setFunctionType(
      FunctionType::get(&getContext(), function.getBody().getArgumentTypes(),
                        function.getResultTypes()));
}

} // namespace
