//===- NNDialect.cpp - the nn dialect -------------------------------------===//

#include "moe/Dialect/NN/NNDialect.h"
#include "moe/Dialect/NN/NNOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

using namespace mlir;
using namespace mlir::nn;

#include "nn/NNDialect.cpp.inc"
#include "nn/NNEnums.cpp.inc"

void NNDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "nn/NNOps.cpp.inc"
      >();
}

Operation *NNDialect::materializeConstant(OpBuilder &builder, Attribute value,
                                          Type type, Location loc) {
  return arith::ConstantOp::materialize(builder, value, type, loc);
}
