//===- MoeDialect.td - the moe dialect ------------------------*- tablegen -*-===//
//
// Routing, dispatch and expert computation of Mixture-of-Experts layers.
//
//===----------------------------------------------------------------------===//

#ifndef MOE_DIALECT_TD
#define MOE_DIALECT_TD

include "mlir/IR/OpBase.td"

def Moe_Dialect : Dialect {
  let name = "moe";
  let cppNamespace = "::mlir::moe";
  let summary = "Mixture-of-Experts routing, dispatch and expert ops";
  let description = [{
    The `moe` dialect models one MoE feed-forward block: a router producing
    fp32 logits, a routing decision (token-choice top-k, Switch top-1,
    Sinkhorn or expert-choice), the load-balancing losses, capacity and
    dropping, the permutation of tokens into expert-contiguous rows, the
    grouped expert GEMMs and the expert-parallel collectives.

    Conventions shared by every op:
    - tokens are flattened sequence-major, `t = s * B + b` for position `s` of
      sequence `b` in a micro-batch of `B` sequences; `T = S * B`;
    - every tensor has a static shape; ragged data (rows per expert) lives in a
      buffer with a static upper bound (`T * k` dropless, `E * C` with
      capacity) and its per-expert row counts travel as a separate
      `tensor<E x i32>` read by kernels at run time;
    - weights use the PyTorch `[out, in]` layout so that Hugging Face tensors
      load without transposition.
  }];
  let hasConstantMaterializer = 1;
  // Router gradients are nn.linear_grad_* ops.
  let dependentDialects = ["::mlir::arith::ArithDialect", "::mlir::nn::NNDialect"];

  // The attributes the graph builder and the passes put on ops, functions
  // and the module; the dialect verifies each `moe.` attribute.
  let discardableAttrs = (ins
    // Builder: the micro-batch the module's functions take (on the module).
    "::mlir::IntegerAttr":$seq_length,
    "::mlir::IntegerAttr":$micro_batch_size,
    // moe-optimizer: forward_backward runs per optimizer step (on the module).
    "::mlir::IntegerAttr":$micro_batches,
    // moe-recompute: a forward op cloned into the backward pass.
    "::mlir::UnitAttr":$recomputed,
    // moe-plan-memory: each result's byte offset in the arena (-1: none), and
    // on the function the arena's size, the largest live total and the sum
    // of every buffer.
    "::mlir::DenseI64ArrayAttr":$offsets,
    "::mlir::IntegerAttr":$arena_bytes,
    "::mlir::IntegerAttr":$peak_live_bytes,
    "::mlir::IntegerAttr":$buffer_bytes
  );
  let hasOperationAttrVerify = 1;
  let hasRegionArgAttrVerify = 1;
  let hasRegionResultAttrVerify = 1;
  let extraClassDeclaration = [{
    // The attributes of function arguments: their role and name. A plan
    // input the runtime fills ("tokens"), a parameter under its Hugging Face
    // name, a persistent state ("grad.<parameter>", "exp_avg.<parameter>").
    static constexpr ::llvm::StringLiteral getInputAttrName() {
      return "moe.input";
    }
    static constexpr ::llvm::StringLiteral getParamAttrName() {
      return "moe.param";
    }
    static constexpr ::llvm::StringLiteral getStateAttrName() {
      return "moe.state";
    }
    // On a parameter or state argument: the tensor holds 1/N of the experts,
    // dimension 0 split over the ep group by global expert id.
    static constexpr ::llvm::StringLiteral getExpertShardsAttrName() {
      return "moe.expert_shards";
    }
    // On an AdamW moment under the distributed optimizer: the tensor is this
    // rank's slice of the flattened, zero-padded moment, one of N over the
    // ranks holding the parameter.
    static constexpr ::llvm::StringLiteral getFlatShardsAttrName() {
      return "moe.flat_shards";
    }
    // The attributes of function results: a named result ("lm_loss"), the
    // gradient of a parameter, or the new value of the argument named so,
    // written in place.
    static constexpr ::llvm::StringLiteral getResultAttrName() {
      return "moe.result";
    }
    static constexpr ::llvm::StringLiteral getGradAttrName() {
      return "moe.grad";
    }
    static constexpr ::llvm::StringLiteral getUpdateAttrName() {
      return "moe.update";
    }
  }];
}

class Moe_Op<string mnemonic, list<Trait> traits = []>
    : Op<Moe_Dialect, mnemonic, traits> {
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Type constraints
//===----------------------------------------------------------------------===//

def Moe_FloatTensor : StaticShapeTensorOf<[F32, BF16]>;
def Moe_F32Tensor : StaticShapeTensorOf<[F32]>;
def Moe_I32Tensor : StaticShapeTensorOf<[I32]>;
def Moe_MaskTensor : StaticShapeTensorOf<[I1]>;
def Moe_CommTensor : StaticShapeTensorOf<[F32, BF16, I32]>;
// A gather also carries masks.
def Moe_GatherTensor : StaticShapeTensorOf<[F32, BF16, I32, I1]>;

// A rank-0 fp32 tensor (a loss); buildable so formats can leave it implicit.
def Moe_F32Scalar : Type<And<[TensorOf<[F32]>.predicate, HasAnyRankOfPred<[0]>]>,
                         "0-d tensor of 32-bit float"> {
  let builderCall = "::mlir::RankedTensorType::get({}, $_builder.getF32Type())";
}

#endif // MOE_DIALECT_TD
