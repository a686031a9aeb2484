//===- MoeOps.h - operations of the moe dialect -----------------*- C++ -*-===//

#ifndef MOE_DIALECT_MOE_MOEOPS_H
#define MOE_DIALECT_MOE_MOEOPS_H

#include "moe/Dialect/Moe/MoeDialect.h"

#include "moe/Interfaces/DifferentiableOpInterface.h"
#include "moe/Interfaces/RoutingOpInterface.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "moe/MoeEnums.h.inc"

#define GET_OP_CLASSES
#include "moe/MoeOps.h.inc"

namespace mlir::moe {

/// The mask of the routing entries the experts take: the keep-mask of the
/// capacity applied to the decision's indices (`drops` is then true: the
/// other entries are dropped tokens), else the decision's own mask, if any.
Value expertsKeepMask(RoutingOpInterface routing, bool &drops);

} // namespace mlir::moe

#endif // MOE_DIALECT_MOE_MOEOPS_H
