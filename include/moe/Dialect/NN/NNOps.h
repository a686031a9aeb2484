//===- NNOps.h - operations of the nn dialect -------------------*- C++ -*-===//

#ifndef MOE_DIALECT_NN_NNOPS_H
#define MOE_DIALECT_NN_NNOPS_H

#include "moe/Dialect/NN/NNDialect.h"

#include "moe/Interfaces/DifferentiableOpInterface.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "nn/NNEnums.h.inc"

#define GET_OP_CLASSES
#include "nn/NNOps.h.inc"

#endif // MOE_DIALECT_NN_NNOPS_H
