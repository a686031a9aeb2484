//===- GraphBuilder.cpp - ModelConfig to the forward graph ----------------===//

#include "moe/Frontend/GraphBuilder.h"
#include "moe/Dialect/Moe/MoeOps.h"
#include "moe/Dialect/NN/NNOps.h"
#include "moe/Frontend/Parameters.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Verifier.h"

#include "llvm/ADT/StringMap.h"

using namespace mlir;
using namespace ::moe::frontend;

namespace {

class GraphBuilder {
public:
  GraphBuilder(MLIRContext &context, const ModelConfig &config)
      : c(config), builder(&context), loc(builder.getUnknownLoc()),
        tokens(config.tokensPerMicroBatch()) {}

  OwningOpRef<ModuleOp> build();

private:
  RankedTensorType tensor(ArrayRef<int64_t> shape, Type element = {}) {
    return RankedTensorType::get(shape,
                                 element ? element : builder.getF32Type());
  }
  Value param(const std::string &name) {
    auto it = params.find(name);
    assert(it != params.end() && "parameter missing from listParameters");
    return it->second;
  }
  Value optionalParam(const std::string &name) {
    auto it = params.find(name);
    return it == params.end() ? Value() : it->second;
  }
  Value add(Value a, Value b) {
    return builder.create<nn::AddOp>(loc, a.getType(), a, b);
  }
  Value linear(Value input, const std::string &prefix) {
    Value weight = param(prefix + ".weight");
    int64_t out = cast<ShapedType>(weight.getType()).getDimSize(0);
    return builder.create<nn::LinearOp>(loc, tensor({tokens, out}), input,
                                        weight,
                                        optionalParam(prefix + ".bias"));
  }
  Value norm(Value input, const std::string &prefix);
  Value attention(Value input, const std::string &prefix);
  Value mlp(Value input, const std::string &prefix);
  Value moeBlock(Value input, const std::string &prefix);
  Value sumOrZero(ArrayRef<Value> values);
  nn::GeluApproximationAttr noApproximation() {
    return nn::GeluApproximationAttr::get(builder.getContext(),
                                          nn::GeluApproximation::none);
  }

  const ModelConfig &c;
  OpBuilder builder;
  Location loc;
  int64_t tokens;
  llvm::StringMap<Value> params;
  Value jitterSeed;
  SmallVector<Value> auxLosses, zLosses;
};

Value GraphBuilder::norm(Value input, const std::string &prefix) {
  FloatAttr eps = builder.getF64FloatAttr(c.normEpsilon);
  if (c.normalization == Normalization::RMSNorm)
    return builder.create<nn::RMSNormOp>(loc, input.getType(), input,
                                         param(prefix + ".weight"), eps);
  return builder.create<nn::LayerNormOp>(loc, input.getType(), input,
                                         param(prefix + ".weight"),
                                         param(prefix + ".bias"), eps);
}

Value GraphBuilder::attention(Value input, const std::string &prefix) {
  Value q = linear(input, prefix + ".q_proj");
  Value k = linear(input, prefix + ".k_proj");
  Value v = linear(input, prefix + ".v_proj");
  if (c.positionEmbedding == PositionEmbedding::RoPE) {
    auto rope = [&](Value x) -> Value {
      return builder.create<nn::RoPEOp>(loc, x.getType(), x,
                                        builder.getI64IntegerAttr(c.headDim()),
                                        builder.getI64IntegerAttr(c.seqLength),
                                        builder.getF64FloatAttr(c.rotaryBase));
    };
    q = rope(q);
    k = rope(k);
  }
  Value context = builder.create<nn::AttentionOp>(
      loc, q.getType(), q, k, v, builder.getI64IntegerAttr(c.numAttentionHeads),
      builder.getI64IntegerAttr(c.kvHeads()),
      builder.getI64IntegerAttr(c.seqLength));
  return linear(context, prefix + ".o_proj");
}

Value GraphBuilder::mlp(Value input, const std::string &prefix) {
  Value up = linear(input, prefix + ".up_proj");
  Value hidden;
  if (c.activation == Activation::SwiGLU)
    hidden = builder.create<nn::SwiGLUOp>(
        loc, linear(input, prefix + ".gate_proj"), up);
  else
    hidden = builder.create<nn::GeLUOp>(loc, up, noApproximation());
  return linear(hidden, prefix + ".down_proj");
}

Value GraphBuilder::moeBlock(Value input, const std::string &prefix) {
  int64_t experts = c.numExperts, hidden = c.hiddenSize;
  Value routerInput = input;
  if (c.inputJitterEps > 0)
    routerInput = builder.create<mlir::moe::JitterOp>(
        loc, input, jitterSeed, builder.getF64FloatAttr(c.inputJitterEps));
  Value logits = builder.create<mlir::moe::RouterOp>(
      loc, tensor({tokens, experts}), routerInput,
      param(prefix + ".gate.weight"));
  if (c.zLossCoeff > 0)
    zLosses.push_back(builder.create<mlir::moe::ZLossOp>(
        loc, logits, builder.getF64FloatAttr(c.zLossCoeff)));

  // Routing: combine weights and expert indices in the [T, k] layout, and the
  // keep-mask and padded capacity when the experts' rows are bounded.
  Value weights, indices, keep;
  std::optional<int64_t> capacity;
  if (c.router == Router::ExpertChoice) {
    double factor = *c.capacityFactor;
    auto choice = builder.create<mlir::moe::ExpertChoiceOp>(
        loc, tensor({tokens, experts}),
        tensor({tokens, experts}, builder.getI32Type()),
        tensor({tokens, experts}, builder.getI1Type()), logits,
        builder.getF64FloatAttr(factor));
    weights = choice.getWeights();
    indices = choice.getIndices();
    keep = choice.getKeep();
    capacity =
        mlir::moe::ExpertChoiceOp::computeCapacity(tokens, experts, factor);
  } else {
    int64_t k = c.topK;
    Type weightsType = tensor({tokens, k});
    Type indicesType = tensor({tokens, k}, builder.getI32Type());
    if (c.router == Router::Sinkhorn) {
      auto route = builder.create<mlir::moe::SinkhornOp>(
          loc, weightsType, indicesType, logits, builder.getI64IntegerAttr(k),
          builder.getF64FloatAttr(1e-4), UnitAttr());
      weights = route.getWeights();
      indices = route.getIndices();
    } else {
      auto route = builder.create<mlir::moe::TopKOp>(
          loc, weightsType, indicesType, logits, builder.getI64IntegerAttr(k),
          mlir::moe::SoftmaxPlacementAttr::get(
              builder.getContext(), c.routerPreSoftmax
                                        ? mlir::moe::SoftmaxPlacement::pre
                                        : mlir::moe::SoftmaxPlacement::post));
      weights = route.getWeights();
      indices = route.getIndices();
      if (c.loadBalancing != LoadBalancing::None && c.auxLossCoeff > 0) {
        IntegerAttr seqLength;
        if (c.loadBalancing == LoadBalancing::SeqAuxLoss)
          seqLength = builder.getI64IntegerAttr(c.seqLength);
        auxLosses.push_back(builder.create<mlir::moe::AuxLossOp>(
            loc, logits, indices, builder.getF64FloatAttr(c.auxLossCoeff),
            seqLength));
      }
    }
    if (c.capacityFactor) {
      auto bound = builder.create<mlir::moe::CapacityOp>(
          loc, tensor({tokens, k}, builder.getI1Type()),
          tensor({experts}, builder.getI32Type()), weights, indices,
          builder.getF64FloatAttr(*c.capacityFactor),
          mlir::moe::DropPolicyAttr::get(builder.getContext(),
                                         c.dropPolicy == DropPolicy::Probs
                                             ? mlir::moe::DropPolicy::probs
                                             : mlir::moe::DropPolicy::position),
          c.padToCapacity ? builder.getUnitAttr() : UnitAttr());
      keep = bound.getKeep();
      if (c.padToCapacity)
        capacity = mlir::moe::CapacityOp::computeCapacity(tokens, k, experts,
                                                          *c.capacityFactor);
    }
  }

  int64_t slots = cast<ShapedType>(indices.getType()).getDimSize(1);
  int64_t rows = capacity ? experts * *capacity : tokens * slots;
  IntegerAttr capacityAttr =
      capacity ? builder.getI64IntegerAttr(*capacity) : IntegerAttr();
  auto permute = builder.create<mlir::moe::PermuteOp>(
      loc, tensor({rows, hidden}), indices.getType(),
      tensor({experts}, builder.getI32Type()), input, indices, keep,
      capacityAttr);
  Value sizes = permute.getGroupSizes();
  int64_t ffn = c.expertFfnSize();
  std::string stacked = prefix + ".experts.{expert}";
  auto groupedMatmul = [&](Value x, const std::string &name, int64_t out) {
    return builder.create<mlir::moe::GroupedMatmulOp>(
        loc, tensor({rows, out}), x, param(stacked + name), sizes);
  };
  Value up = groupedMatmul(permute.getRows(), ".w1.weight", ffn);
  Value activated;
  if (c.activation == Activation::SwiGLU)
    activated = builder.create<nn::SwiGLUOp>(
        loc, up, groupedMatmul(permute.getRows(), ".w3.weight", ffn));
  else
    activated = builder.create<nn::GeLUOp>(loc, up, noApproximation());
  Value down = groupedMatmul(activated, ".w2.weight", hidden);
  Value output = builder.create<mlir::moe::UnpermuteOp>(
      loc, tensor({tokens, hidden}), down, permute.getRowMap(), weights);

  if (c.sharedExpertFfnHiddenSize) {
    Value shared = mlp(input, prefix + ".shared_expert");
    if (c.sharedExpertGate)
      shared = builder.create<nn::SigmoidGateOp>(
          loc, shared, linear(input, prefix + ".shared_expert_gate"));
    output = add(output, shared);
  }
  return output;
}

Value GraphBuilder::sumOrZero(ArrayRef<Value> values) {
  if (values.empty())
    return builder.create<arith::ConstantOp>(
        loc, DenseElementsAttr::get(tensor({}), 0.0f));
  Value sum = values.front();
  for (Value value : values.drop_front())
    sum = add(sum, value);
  return sum;
}

OwningOpRef<ModuleOp> GraphBuilder::build() {
  OwningOpRef<ModuleOp> module = ModuleOp::create(loc);
  module->getOperation()->setAttr("moe.seq_length",
                                  builder.getI64IntegerAttr(c.seqLength));
  module->getOperation()->setAttr("moe.micro_batch_size",
                                  builder.getI64IntegerAttr(c.microBatchSize));

  // Arguments: inputs, then the parameters in listParameters() order.
  SmallVector<Type> argTypes;
  SmallVector<DictionaryAttr> argAttrs;
  auto addArg = [&](Type type, StringRef kind, StringRef name) {
    argTypes.push_back(type);
    argAttrs.push_back(builder.getDictionaryAttr(
        builder.getNamedAttr(kind, builder.getStringAttr(name))));
  };
  Type ids = tensor({tokens}, builder.getI32Type());
  addArg(ids, "moe.input", "tokens");
  addArg(ids, "moe.input", "labels");
  bool learnedPositions =
      c.positionEmbedding == PositionEmbedding::LearnedAbsolute;
  if (learnedPositions)
    addArg(ids, "moe.input", "positions");
  bool jitter = false;
  for (int64_t i = 0; i < c.numLayers; ++i)
    jitter |= c.isMoELayer(i) && c.inputJitterEps > 0;
  if (jitter)
    addArg(builder.getI64Type(), "moe.input", "jitter_seed");
  size_t firstParam = argTypes.size();
  std::vector<ParameterInfo> parameters = listParameters(c);
  for (const ParameterInfo &p : parameters)
    addArg(tensor(p.shape), "moe.param", p.name);

  Type scalar = tensor({});
  auto function = func::FuncOp::create(
      loc, "forward",
      builder.getFunctionType(argTypes, {scalar, scalar, scalar}));
  function.setAllArgAttrs(argAttrs);
  StringRef resultNames[] = {"lm_loss", "aux_loss", "z_loss"};
  for (auto [i, name] : llvm::enumerate(resultNames))
    function.setResultAttr(i, "moe.result", builder.getStringAttr(name));
  module->push_back(function);
  Block *body = function.addEntryBlock();
  builder.setInsertionPointToStart(body);

  for (auto [i, p] : llvm::enumerate(parameters))
    params[p.name] = body->getArgument(firstParam + i);
  unsigned nextInput = 2;
  Value positions = learnedPositions ? body->getArgument(nextInput++) : Value();
  jitterSeed = jitter ? body->getArgument(nextInput++) : Value();

  Value table = param("model.embed_tokens.weight");
  Value h = builder.create<nn::EmbeddingOp>(loc, tensor({tokens, c.hiddenSize}),
                                            body->getArgument(0), table);
  if (learnedPositions)
    h = add(h, builder.create<nn::EmbeddingOp>(
                   loc, tensor({tokens, c.hiddenSize}), positions,
                   param("model.embed_positions.weight")));
  for (int64_t i = 0; i < c.numLayers; ++i) {
    std::string layer = "model.layers." + std::to_string(i);
    h = add(h, attention(norm(h, layer + ".input_layernorm"),
                         layer + ".self_attn"));
    Value normed = norm(h, layer + ".post_attention_layernorm");
    h = add(h, c.isMoELayer(i) ? moeBlock(normed, layer + ".block_sparse_moe")
                               : mlp(normed, layer + ".mlp"));
  }
  h = norm(h, "model.norm");
  Value head = c.tieEmbeddings ? table : param("lm_head.weight");
  Value logits = builder.create<nn::LinearOp>(
      loc, tensor({tokens, c.paddedVocabSize()}), h, head, Value());
  Value loss = builder.create<nn::CrossEntropyOp>(
      loc, logits, body->getArgument(1), Value());
  builder.create<func::ReturnOp>(
      loc, ValueRange{loss, sumOrZero(auxLosses), sumOrZero(zLosses)});
  return module;
}

} // namespace

namespace moe::frontend {
OwningOpRef<ModuleOp> buildForwardGraph(MLIRContext &context,
                                        const ModelConfig &config) {
  context.loadDialect<mlir::moe::MoeDialect, nn::NNDialect, func::FuncDialect,
                      arith::ArithDialect>();
  OwningOpRef<ModuleOp> module = GraphBuilder(context, config).build();
  if (failed(verify(*module)))
    return nullptr;
  return module;
}
} // namespace moe::frontend
