//===- DifferentiableOpInterface.cpp - ops with a VJP ---------------------===//

#include "moe/Interfaces/DifferentiableOpInterface.h"

#include "moe/Interfaces/DifferentiableOpInterface.cpp.inc"
