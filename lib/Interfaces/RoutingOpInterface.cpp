//===- RoutingOpInterface.cpp - ops that route tokens ---------------------===//

#include "moe/Interfaces/RoutingOpInterface.h"

#include "moe/Interfaces/RoutingOpInterface.cpp.inc"
