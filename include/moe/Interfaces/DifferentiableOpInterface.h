//===- DifferentiableOpInterface.h - ops with a VJP -------------*- C++ -*-===//

#ifndef MOE_INTERFACES_DIFFERENTIABLEOPINTERFACE_H
#define MOE_INTERFACES_DIFFERENTIABLEOPINTERFACE_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpDefinition.h"

#include "moe/Interfaces/DifferentiableOpInterface.h.inc"

#endif // MOE_INTERFACES_DIFFERENTIABLEOPINTERFACE_H
