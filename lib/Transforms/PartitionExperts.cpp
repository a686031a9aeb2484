//===- PartitionExperts.cpp - experts sharded over the ep group -----------===//
//
// Every MoE layer of the graph builder has one shape: moe.permute, then the
// experts (grouped GEMMs and their activation) over the permuted rows, then
// moe.unpermute. The pass wraps the experts in the alltoall dispatcher and
// slices their weights; everything outside the experts stays as it is.
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

LogicalResult PartitionExpertsPass::partition(func::FuncOp function,
                                              moe::PermuteOp permute) {
  Value rows = permute.getRows(), sizes = permute.getGroupSizes();
  int64_t ep = expertParallel;
  int64_t experts = cast<ShapedType>(sizes.getType()).getDimSize(0);
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

  // The experts: every op the rows reach before the combine.
  llvm::SetVector<Operation *> expertOps;
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
  for (Operation *user : sizes.getUsers())
    if (!isa<moe::GroupedMatmulOp>(user))
      return user->emitOpError("uses the expert group sizes: only "
                               "moe.grouped_matmul may, for the experts to "
                               "be sharded");

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

  for (Operation *op : expertOps) {
    if (auto gemm = dyn_cast<moe::GroupedMatmulOp>(op)) {
      if (failed(shardWeight(function, gemm)))
        return failure();
      if (gemm.getRows() == rows)
        gemm.getRowsMutable().assign(sorted);
      gemm.getGroupSizesMutable().assign(split.getLocalSizes());
    }
    for (OpResult result : op->getResults())
      result.setType(withRows(result.getType(), bound));
  }

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

void PartitionExpertsPass::runOnOperation() {
  if (expertParallel < 1) {
    getOperation().emitError() << "ep must be at least 1, got "
                               << static_cast<int64_t>(expertParallel);
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
