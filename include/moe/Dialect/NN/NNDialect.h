//===- NNDialect.h - the nn dialect -----------------------------*- C++ -*-===//

#ifndef MOE_DIALECT_NN_NNDIALECT_H
#define MOE_DIALECT_NN_NNDIALECT_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/Dialect.h"

#include "nn/NNDialect.h.inc"

#endif // MOE_DIALECT_NN_NNDIALECT_H
