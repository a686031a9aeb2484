//===- NNDialect.td - the nn dialect --------------------------*- tablegen -*-===//
//
// Dense transformer pieces at the granularity whose gradient is written by hand.
//
//===----------------------------------------------------------------------===//

#ifndef NN_DIALECT_TD
#define NN_DIALECT_TD

include "mlir/IR/OpBase.td"

def NN_Dialect : Dialect {
  let name = "nn";
  let cppNamespace = "::mlir::nn";
  let summary = "dense transformer ops: embedding, norms, attention, MLP, loss, optimizer";
  let description = [{
    The `nn` dialect holds the dense parts of a decoder-only transformer at the
    level where each op's vector-Jacobian product is written by hand.

    Activations are 2-D, `[T, H]`, with tokens flattened sequence-major
    (`t = s * B + b`, `T = S * B`); ops that need the sequence structure
    (rotary embedding, causal attention) take the sequence length `S` as an
    attribute. Weights use the PyTorch `[out, in]` layout. Every shape is
    static.
  }];
  let hasConstantMaterializer = 1;
  let dependentDialects = ["::mlir::arith::ArithDialect"];
}

class NN_Op<string mnemonic, list<Trait> traits = []>
    : Op<NN_Dialect, mnemonic, traits> {
  let hasVerifier = 1;
}

def NN_FloatTensor : StaticShapeTensorOf<[F32, BF16]>;
def NN_F32Tensor : StaticShapeTensorOf<[F32]>;
def NN_I32Tensor : StaticShapeTensorOf<[I32]>;

// Rank-0 tensors, buildable so formats can leave them implicit.
def NN_F32Scalar : Type<And<[TensorOf<[F32]>.predicate, HasAnyRankOfPred<[0]>]>,
                        "0-d tensor of 32-bit float"> {
  let builderCall = "::mlir::RankedTensorType::get({}, $_builder.getF32Type())";
}
def NN_I64Scalar : Type<And<[TensorOf<[I64]>.predicate, HasAnyRankOfPred<[0]>]>,
                        "0-d tensor of 64-bit signless integer"> {
  let builderCall = "::mlir::RankedTensorType::get({}, $_builder.getI64Type())";
}

#endif // NN_DIALECT_TD
