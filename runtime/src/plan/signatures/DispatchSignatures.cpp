//===- DispatchSignatures.cpp - capacity, dispatch and grouped GEMMs ------===//

#include "OpChecker.h"
#include "Signatures.h"

#include "plan_generated.h"

#include <fmt/format.h>

namespace moert {

namespace {

//===----------------------------------------------------------------------===//
// moe.capacity
//===----------------------------------------------------------------------===//

Status checkCapacity(const Plan &plan, const OpInfo &op) {
  OpChecker c(plan, op);
  MOERT_RETURN_IF_ERROR(c.arity(2, 0, 2));
  MOERT_RETURN_IF_ERROR(c.type(c.in(0), "weights", DType::F32, 2));
  MOERT_RETURN_IF_ERROR(c.type(c.in(1), "indices", DType::I32, 2));
  MOERT_RETURN_IF_ERROR(c.shape(c.in(1), "indices", c.in(0).shape));
  MOERT_RETURN_IF_ERROR(c.type(c.out(0), "keep", DType::I1, 2));
  MOERT_RETURN_IF_ERROR(c.shape(c.out(0), "keep", c.in(0).shape));
  MOERT_RETURN_IF_ERROR(c.type(c.out(1), "counts", DType::I32, 1));
  MOERT_RETURN_IF_ERROR(c.intAttr("capacity", 0));
  MOERT_RETURN_IF_ERROR(
      c.intAttr("policy", 0, static_cast<int64_t>(plan::DropPolicy::MAX)));
  return c.boolAttr("pad_to_capacity");
}

//===----------------------------------------------------------------------===//
// moe.permute and the layout it shares with the fused GEMM
//===----------------------------------------------------------------------===//

/// Checks the operands shared by moe.permute and moe.gather_grouped_matmul;
/// `mask` is null when the op has none.
Status checkDispatch(const OpChecker &c, const TensorInfo &input,
                     const TensorInfo &indices, const TensorInfo *mask,
                     int64_t numRows, const TensorInfo &rowMap,
                     const TensorInfo &sizes, const OpInfo &op) {
  MOERT_RETURN_IF_ERROR(c.type(input, "input", DType::F32, 2));
  MOERT_RETURN_IF_ERROR(c.type(indices, "indices", DType::I32, 2));
  if (rows(indices) != rows(input))
    return c.fail("indices and input differ in token count");
  if (mask) {
    MOERT_RETURN_IF_ERROR(c.type(*mask, "mask", DType::I1, 2));
    MOERT_RETURN_IF_ERROR(c.shape(*mask, "mask", indices.shape));
  }
  MOERT_RETURN_IF_ERROR(c.type(rowMap, "row_map", DType::I32, 2));
  MOERT_RETURN_IF_ERROR(c.shape(rowMap, "row_map", indices.shape));
  MOERT_RETURN_IF_ERROR(c.type(sizes, "group_sizes", DType::I32, 1));
  bool padded = op.hasAttr("capacity");
  if (padded) {
    MOERT_RETURN_IF_ERROR(c.intAttr("capacity", 0));
    if (op.intAttr("capacity") < 1 || !mask)
      return c.fail(
          "a padded layout needs a capacity of at least 1 and a mask");
  }
  int64_t bound = padded ? sizes.shape[0] * op.intAttr("capacity")
                         : rows(indices) * cols(indices);
  if (numRows != bound)
    return c.fail(fmt::format("holds {} rows, expected {}", numRows, bound));
  return Status();
}

Status checkPermute(const Plan &plan, const OpInfo &op) {
  OpChecker c(plan, op);
  MOERT_RETURN_IF_ERROR(c.arity(2, 1, 3));
  MOERT_RETURN_IF_ERROR(c.type(c.out(0), "rows", DType::F32, 2));
  MOERT_RETURN_IF_ERROR(checkDispatch(c, c.in(0), c.in(1),
                                      c.hasInput(2) ? &c.in(2) : nullptr,
                                      rows(c.out(0)), c.out(1), c.out(2), op));
  if (cols(c.out(0)) != cols(c.in(0)))
    return c.fail("rows and input differ in width");
  return Status();
}

Status checkCombine(const OpChecker &c, const TensorInfo &rowsInfo,
                    const TensorInfo &rowMap, const TensorInfo &weights,
                    const TensorInfo &output) {
  MOERT_RETURN_IF_ERROR(c.type(rowsInfo, "rows", DType::F32, 2));
  MOERT_RETURN_IF_ERROR(c.type(rowMap, "row_map", DType::I32, 2));
  MOERT_RETURN_IF_ERROR(c.shape(weights, "weights", rowMap.shape));
  return c.shape(output, "output", {rows(rowMap), cols(rowsInfo)});
}

Status checkUnpermute(const Plan &plan, const OpInfo &op) {
  OpChecker c(plan, op);
  MOERT_RETURN_IF_ERROR(c.arity(3, 0, 1));
  return checkCombine(c, c.in(0), c.in(1), c.in(2), c.out(0));
}

//===----------------------------------------------------------------------===//
// Grouped GEMMs
//===----------------------------------------------------------------------===//

Status checkExpertWeight(const OpChecker &c, const TensorInfo &weight,
                         int64_t rowWidth, const TensorInfo &sizes) {
  MOERT_RETURN_IF_ERROR(c.type(weight, "weight", DType::F32, 3));
  MOERT_RETURN_IF_ERROR(c.type(sizes, "group_sizes", DType::I32, 1));
  if (weight.shape[0] != sizes.shape[0] || weight.shape[2] != rowWidth)
    return c.fail(fmt::format("weight {} does not fit rows of {} and {} groups",
                              weight.typeString(), rowWidth, sizes.shape[0]));
  return Status();
}

Status checkGroupedMatmul(const Plan &plan, const OpInfo &op) {
  OpChecker c(plan, op);
  MOERT_RETURN_IF_ERROR(c.arity(3, 0, 1));
  MOERT_RETURN_IF_ERROR(c.type(c.in(0), "rows", DType::F32, 2));
  MOERT_RETURN_IF_ERROR(checkExpertWeight(c, c.in(1), cols(c.in(0)), c.in(2)));
  return c.shape(c.out(0), "output", {rows(c.in(0)), c.in(1).shape[1]});
}

Status checkGatherGroupedMatmul(const Plan &plan, const OpInfo &op) {
  OpChecker c(plan, op);
  MOERT_RETURN_IF_ERROR(c.arity(3, 1, 3));
  MOERT_RETURN_IF_ERROR(c.type(c.out(0), "output", DType::F32, 2));
  MOERT_RETURN_IF_ERROR(checkDispatch(c, c.in(0), c.in(1),
                                      c.hasInput(3) ? &c.in(3) : nullptr,
                                      rows(c.out(0)), c.out(1), c.out(2), op));
  MOERT_RETURN_IF_ERROR(checkExpertWeight(c, c.in(2), cols(c.in(0)), c.out(2)));
  return c.shape(c.out(0), "output", {rows(c.out(0)), c.in(2).shape[1]});
}

Status checkGroupedMatmulScatter(const Plan &plan, const OpInfo &op) {
  OpChecker c(plan, op);
  MOERT_RETURN_IF_ERROR(c.arity(5, 0, 1));
  MOERT_RETURN_IF_ERROR(c.type(c.in(0), "rows", DType::F32, 2));
  MOERT_RETURN_IF_ERROR(checkExpertWeight(c, c.in(1), cols(c.in(0)), c.in(2)));
  TensorInfo product = c.in(0);
  product.shape[1] = c.in(1).shape[1];
  return checkCombine(c, product, c.in(3), c.in(4), c.out(0));
}

//===----------------------------------------------------------------------===//
// moe.sort_chunks
//===----------------------------------------------------------------------===//

Status checkSortChunks(const Plan &plan, const OpInfo &op) {
  OpChecker c(plan, op);
  MOERT_RETURN_IF_ERROR(c.arity(2, 0, 1));
  MOERT_RETURN_IF_ERROR(c.intAttr("sources", 1));
  MOERT_RETURN_IF_ERROR(c.boolAttr("inverse"));
  if (c.in(0).shape.empty())
    return c.fail("needs rows of rank 1 or more");
  MOERT_RETURN_IF_ERROR(c.type(c.in(1), "chunk_sizes", DType::I32, 1));
  if (c.in(1).shape[0] % op.intAttr("sources"))
    return c.fail(fmt::format("cannot split {} chunk sizes over {} sources",
                              c.in(1).shape[0], op.intAttr("sources")));
  MOERT_RETURN_IF_ERROR(c.shape(c.out(0), "output", c.in(0).shape));
  if (c.out(0).dtype != c.in(0).dtype)
    return c.fail("output and input differ in type");
  return Status();
}

} // namespace

std::vector<OpSignature> dispatchSignatures() {
  return {
      {"moe.capacity", checkCapacity},
      {"moe.permute", checkPermute},
      {"moe.unpermute", checkUnpermute},
      {"moe.grouped_matmul", checkGroupedMatmul},
      {"moe.gather_grouped_matmul", checkGatherGroupedMatmul},
      {"moe.grouped_matmul_scatter", checkGroupedMatmulScatter},
      {"moe.sort_chunks", checkSortChunks},
  };
}

} // namespace moert
