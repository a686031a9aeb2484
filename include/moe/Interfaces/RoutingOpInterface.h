//===- RoutingOpInterface.h - ops that route tokens -------------*- C++ -*-===//

#ifndef MOE_INTERFACES_ROUTINGOPINTERFACE_H
#define MOE_INTERFACES_ROUTINGOPINTERFACE_H

#include "mlir/IR/OpDefinition.h"

#include "moe/Interfaces/RoutingOpInterface.h.inc"

#endif // MOE_INTERFACES_ROUTINGOPINTERFACE_H
