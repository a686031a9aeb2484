//===- CollectiveSignatures.cpp - the expert-parallel collectives ---------===//
//
// A collective's `size` is the number of ranks in its `group`; whether the
// launch has groups of that size is checked when a device is created
// (checkCollectiveGroups), since only the launch knows.
//
//===----------------------------------------------------------------------===//

#include "OpChecker.h"
#include "Signatures.h"

#include "plan_generated.h"

#include <fmt/format.h>

namespace moert {

namespace {

/// The `group` a rank-dependent op runs over and the `size` of that group.
Status checkGroup(const OpChecker &c) {
  MOERT_RETURN_IF_ERROR(
      c.intAttr("group", 0, static_cast<int64_t>(plan::CommGroup::MAX)));
  return c.intAttr("size", 1);
}

/// One input and one output of the element type of the input, which a
/// communicator can carry: f32 or i32, and masks for a gather.
Status checkCollective(const OpChecker &c, size_t inputs, bool masks = false) {
  MOERT_RETURN_IF_ERROR(c.arity(inputs, 0, 1));
  MOERT_RETURN_IF_ERROR(checkGroup(c));
  DType dtype = c.in(0).dtype;
  if (dtype != DType::F32 && dtype != DType::I32 &&
      !(masks && dtype == DType::I1))
    return c.fail(fmt::format("carries f32 or i32 tensors{}, not {}",
                              masks ? " and masks" : "", c.in(0).typeString()));
  if (c.out(0).dtype != dtype)
    return c.fail(fmt::format("output {} differs from input {} in type",
                              c.out(0).typeString(), c.in(0).typeString()));
  return Status();
}

/// The output's shape: the input's with dimension 0 of `rows`.
Status checkRows(const OpChecker &c, int64_t rows) {
  if (c.in(0).shape.empty())
    return c.fail("needs a tensor of rank 1 or more");
  std::vector<int64_t> shape = c.in(0).shape;
  shape[0] = rows;
  return c.shape(c.out(0), "output", shape);
}

int64_t sizeOf(const OpInfo &op) { return op.intAttr("size"); }

Status checkAllToAllV(const Plan &plan, const OpInfo &op) {
  OpChecker c(plan, op);
  MOERT_RETURN_IF_ERROR(checkCollective(c, 3));
  MOERT_RETURN_IF_ERROR(c.type(c.in(1), "send_sizes", DType::I32, 1));
  MOERT_RETURN_IF_ERROR(c.shape(c.in(1), "send_sizes", {sizeOf(op)}));
  MOERT_RETURN_IF_ERROR(c.type(c.in(2), "recv_sizes", DType::I32, 1));
  MOERT_RETURN_IF_ERROR(c.shape(c.in(2), "recv_sizes", {sizeOf(op)}));
  if (c.out(0).shape.empty())
    return c.fail("needs a tensor of rank 1 or more");
  return checkRows(c, c.out(0).shape[0]);
}

Status checkAllGather(const Plan &plan, const OpInfo &op) {
  OpChecker c(plan, op);
  MOERT_RETURN_IF_ERROR(checkCollective(c, 1, /*masks=*/true));
  if (c.in(0).shape.empty())
    return c.fail("needs a tensor of rank 1 or more");
  return checkRows(c, c.in(0).shape[0] * sizeOf(op));
}

Status checkReduceScatter(const Plan &plan, const OpInfo &op) {
  OpChecker c(plan, op);
  MOERT_RETURN_IF_ERROR(checkCollective(c, 1));
  if (c.in(0).shape.empty() || c.in(0).shape[0] % sizeOf(op))
    return c.fail(fmt::format("cannot split {} into {} slices",
                              c.in(0).typeString(), sizeOf(op)));
  return checkRows(c, c.in(0).shape[0] / sizeOf(op));
}

Status checkAllReduce(const Plan &plan, const OpInfo &op) {
  OpChecker c(plan, op);
  MOERT_RETURN_IF_ERROR(checkCollective(c, 1));
  MOERT_RETURN_IF_ERROR(
      c.intAttr("reduction", 0, static_cast<int64_t>(plan::Reduction::MAX)));
  if (c.in(0).dtype != DType::F32 &&
      op.intAttr("reduction") == static_cast<int64_t>(plan::Reduction::Mean))
    return c.fail("a mean reduces only f32 tensors");
  return c.shape(c.out(0), "output", c.in(0).shape);
}

Status checkDispatchCounts(const Plan &plan, const OpInfo &op) {
  OpChecker c(plan, op);
  MOERT_RETURN_IF_ERROR(c.arity(1, 0, 4));
  MOERT_RETURN_IF_ERROR(checkGroup(c));
  MOERT_RETURN_IF_ERROR(c.type(c.in(0), "counts", DType::I32, 1));
  int64_t members = sizeOf(op), all = c.in(0).shape[0];
  if (all % members || (all / members) % members)
    return c.fail(fmt::format("cannot split {} counts over {} members, each "
                              "holding as many experts",
                              all, members));
  int64_t local = all / members / members;
  const char *names[] = {"send_sizes", "recv_sizes", "chunk_sizes",
                         "local_sizes"};
  int64_t lengths[] = {members, members, members * local, local};
  for (int i = 0; i < 4; ++i) {
    MOERT_RETURN_IF_ERROR(c.type(c.out(i), names[i], DType::I32, 1));
    MOERT_RETURN_IF_ERROR(c.shape(c.out(i), names[i], {lengths[i]}));
  }
  return Status();
}

Status checkLocalExperts(const Plan &plan, const OpInfo &op) {
  OpChecker c(plan, op);
  MOERT_RETURN_IF_ERROR(c.arity(1, 1, 2));
  MOERT_RETURN_IF_ERROR(checkGroup(c));
  MOERT_RETURN_IF_ERROR(c.intAttr("experts", 1));
  if (op.intAttr("experts") % sizeOf(op))
    return c.fail(fmt::format("cannot split {} experts over {} members",
                              op.intAttr("experts"), sizeOf(op)));
  MOERT_RETURN_IF_ERROR(c.type(c.in(0), "indices", DType::I32, 2));
  if (c.hasInput(1)) {
    MOERT_RETURN_IF_ERROR(c.type(c.in(1), "mask", DType::I1, 2));
    MOERT_RETURN_IF_ERROR(c.shape(c.in(1), "mask", c.in(0).shape));
  }
  MOERT_RETURN_IF_ERROR(c.type(c.out(0), "local_indices", DType::I32, 2));
  MOERT_RETURN_IF_ERROR(c.shape(c.out(0), "local_indices", c.in(0).shape));
  MOERT_RETURN_IF_ERROR(c.type(c.out(1), "keep", DType::I1, 2));
  return c.shape(c.out(1), "keep", c.in(0).shape);
}

/// One f32 tensor in, one f32 vector out.
Status checkFlat(const OpChecker &c, const TensorInfo &flat, const char *what) {
  MOERT_RETURN_IF_ERROR(c.arity(1, 0, 1));
  if (c.in(0).dtype != DType::F32 || c.out(0).dtype != DType::F32)
    return c.fail("moves f32 tensors only");
  return c.type(flat, what, DType::F32, 1);
}

Status checkFlatten(const Plan &plan, const OpInfo &op) {
  OpChecker c(plan, op);
  MOERT_RETURN_IF_ERROR(checkFlat(c, c.out(0), "output"));
  if (c.out(0).numElements() < c.in(0).numElements())
    return c.fail(fmt::format("cannot hold the {} elements of {} in {}",
                              c.in(0).numElements(), c.in(0).typeString(),
                              c.out(0).typeString()));
  return Status();
}

Status checkUnflatten(const Plan &plan, const OpInfo &op) {
  OpChecker c(plan, op);
  MOERT_RETURN_IF_ERROR(checkFlat(c, c.in(0), "input"));
  if (c.in(0).numElements() < c.out(0).numElements())
    return c.fail(fmt::format("cannot fill {} from {}", c.out(0).typeString(),
                              c.in(0).typeString()));
  return Status();
}

Status checkLocalShard(const Plan &plan, const OpInfo &op) {
  OpChecker c(plan, op);
  MOERT_RETURN_IF_ERROR(checkFlat(c, c.in(0), "input"));
  MOERT_RETURN_IF_ERROR(checkGroup(c));
  MOERT_RETURN_IF_ERROR(c.type(c.out(0), "output", DType::F32, 1));
  return c.shape(c.in(0), "input", {c.out(0).shape[0] * sizeOf(op)});
}

} // namespace

std::vector<OpSignature> collectiveSignatures() {
  return {
      {"moe.all_to_all_v", checkAllToAllV},
      {"moe.all_gather", checkAllGather},
      {"moe.reduce_scatter", checkReduceScatter},
      {"moe.all_reduce", checkAllReduce},
      {"moe.dispatch_counts", checkDispatchCounts},
      {"moe.local_experts", checkLocalExperts},
      {"moe.flatten", checkFlatten},
      {"moe.unflatten", checkUnflatten},
      {"moe.local_shard", checkLocalShard},
  };
}

bool isCollective(std::string_view name) {
  static const std::vector<OpSignature> collectives = collectiveSignatures();
  for (const OpSignature &signature : collectives)
    if (signature.name == name)
      return true;
  return false;
}

} // namespace moert
