//===- MoeDialect.h - the moe dialect ---------------------------*- C++ -*-===//

#ifndef MOE_DIALECT_MOE_MOEDIALECT_H
#define MOE_DIALECT_MOE_MOEDIALECT_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/Dialect.h"

#include "moe/MoeDialect.h.inc"

#endif // MOE_DIALECT_MOE_MOEDIALECT_H
