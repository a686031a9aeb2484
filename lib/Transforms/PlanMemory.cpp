//===- PlanMemory.cpp - activation offsets in one arena -------------------===//

#include "moe/Dialect/Moe/MoeOps.h"
#include "moe/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"

#include <algorithm>

namespace mlir::moe {
#define GEN_PASS_DEF_PLANMEMORY
#include "moe/Transforms/Passes.h.inc"
} // namespace mlir::moe

using namespace mlir;

namespace {

constexpr int64_t alignment = 64;

/// Bytes of a tensor as the runtime stores it (i1 in a byte).
int64_t tensorBytes(RankedTensorType type) {
  int64_t elementBytes =
      std::max<int64_t>(1, type.getElementTypeBitWidth() / 8);
  return type.getNumElements() * elementBytes;
}

struct Buffer {
  OpResult value;
  int64_t bytes;       // rounded up to the alignment
  int64_t first, last; // live range, inclusive, in op positions
  int64_t offset = -1;
};

struct PlanMemoryPass : public moe::impl::PlanMemoryBase<PlanMemoryPass> {
  void runOnOperation() override;
};

void PlanMemoryPass::runOnOperation() {
  func::FuncOp function = getOperation();
  if (!function.getBody().hasOneBlock()) {
    function.emitError("memory planning needs a straight-line function of "
                       "one block");
    return signalPassFailure();
  }
  Block &body = function.getBody().front();
  llvm::DenseMap<Operation *, int64_t> position;
  for (Operation &op : body)
    position[&op] = position.size();
  int64_t end = position.size();

  // Results returned as `moe.update` are written in place into the
  // persistent tensor they replace and take no arena space.
  llvm::DenseSet<Value> updates;
  for (auto [i, value] : llvm::enumerate(body.getTerminator()->getOperands()))
    if (function.getResultAttr(i, moe::MoeDialect::getUpdateAttrName()))
      updates.insert(value);

  // Routing decisions stay readable after the step: the runtime counts
  // tokens per expert from them (a recomputed one repeats one counted).
  moe::MoeDialect::RecomputedAttrHelper recomputed(function.getContext());
  llvm::DenseSet<Value> counted;
  for (auto routing : body.getOps<moe::RoutingOpInterface>()) {
    if (recomputed.isAttrPresent(routing))
      continue;
    counted.insert(routing.getRoutingIndices());
    bool drops = false;
    if (Value mask = moe::expertsKeepMask(routing, drops))
      counted.insert(mask);
  }

  std::vector<Buffer> buffers;
  for (Operation &op : body) {
    if (isa<arith::ConstantOp>(op))
      continue;
    for (OpResult result : op.getResults()) {
      if (updates.contains(result))
        continue;
      auto type = dyn_cast<RankedTensorType>(result.getType());
      if (!type || !type.hasStaticShape()) {
        if (type) {
          op.emitError("memory planning needs static shapes");
          return signalPassFailure();
        }
        continue;
      }
      Buffer buffer{
          result,
          static_cast<int64_t>(llvm::alignTo(tensorBytes(type), alignment)),
          position[&op], position[&op]};
      for (Operation *user : result.getUsers())
        buffer.last = std::max(
            buffer.last, isa<func::ReturnOp>(user) ? end : position[user]);
      if (counted.contains(result))
        buffer.last = end;
      buffers.push_back(buffer);
    }
  }

  // Largest first, each at the lowest offset clear of every placed buffer
  // whose live range meets its own.
  std::vector<Buffer *> order;
  order.reserve(buffers.size());
  for (Buffer &buffer : buffers)
    order.push_back(&buffer);
  std::stable_sort(order.begin(), order.end(),
                   [](Buffer *a, Buffer *b) { return a->bytes > b->bytes; });
  std::vector<Buffer *> placed;
  int64_t arenaBytes = 0, totalBytes = 0;
  for (Buffer *buffer : order) {
    std::vector<std::pair<int64_t, int64_t>> busy;
    for (Buffer *other : placed)
      if (other->first <= buffer->last && buffer->first <= other->last)
        busy.emplace_back(other->offset, other->offset + other->bytes);
    llvm::sort(busy);
    int64_t offset = 0;
    for (auto [start, stop] : busy) {
      if (offset + buffer->bytes <= start)
        break;
      offset = std::max(offset, stop);
    }
    buffer->offset = offset;
    placed.push_back(buffer);
    arenaBytes = std::max(arenaBytes, offset + buffer->bytes);
    totalBytes += buffer->bytes;
  }

  // The lower bound: the most bytes live at any one op.
  int64_t peakLive = 0;
  for (int64_t at = 0; at <= end; ++at) {
    int64_t live = 0;
    for (const Buffer &buffer : buffers)
      if (buffer.first <= at && at <= buffer.last)
        live += buffer.bytes;
    peakLive = std::max(peakLive, live);
  }

  OpBuilder builder(function.getContext());
  llvm::DenseMap<Operation *, SmallVector<int64_t>> offsets;
  for (Operation &op : body)
    if (!isa<arith::ConstantOp>(op) && op.getNumResults())
      offsets[&op].assign(op.getNumResults(), -1);
  for (const Buffer &buffer : buffers) {
    SmallVector<int64_t> &list = offsets[buffer.value.getOwner()];
    list.resize(buffer.value.getOwner()->getNumResults(), -1);
    list[buffer.value.getResultNumber()] = buffer.offset;
  }
  for (auto &[op, list] : offsets)
    moe::MoeDialect::OffsetsAttrHelper(function.getContext())
        .setAttr(op, builder.getDenseI64ArrayAttr(list));
  moe::MoeDialect::ArenaBytesAttrHelper(function.getContext())
      .setAttr(function, builder.getI64IntegerAttr(arenaBytes));
  moe::MoeDialect::PeakLiveBytesAttrHelper(function.getContext())
      .setAttr(function, builder.getI64IntegerAttr(peakLive));
  moe::MoeDialect::BufferBytesAttrHelper(function.getContext())
      .setAttr(function, builder.getI64IntegerAttr(totalBytes));
}

} // namespace
