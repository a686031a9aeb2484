//===- moe-opt.cpp - the mlir-opt style driver of the project -------------===//
//
// Parses, verifies, transforms and prints IR of the moe and nn dialects. Only
// the dialects the project's graphs use are registered (func, arith, tensor),
// which keeps this file cheap to compile.
//
//===----------------------------------------------------------------------===//

#include "moe/Dialect/Moe/MoeDialect.h"
#include "moe/Dialect/NN/NNDialect.h"
#include "moe/Transforms/Passes.h"
#include "moe/Transforms/Pipeline.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "mlir/Transforms/Passes.h"

int main(int argc, char **argv) {
  mlir::registerTransformsPasses();
  mlir::moe::registerMoeTransformsPasses();
  mlir::moe::registerTrainingPipeline();

  mlir::DialectRegistry registry;
  registry.insert<mlir::moe::MoeDialect, mlir::nn::NNDialect,
                  mlir::func::FuncDialect, mlir::arith::ArithDialect,
                  mlir::tensor::TensorDialect>();

  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "moe-opt: optimizer driver for the moe and nn dialects\n",
      registry));
}
