//===- GraphBuilder.cpp - ModelConfig to the forward graph ----------------===//

#include "moe/Frontend/GraphBuilder.h"
#include "moe/Dialect/Moe/MoeOps.h"
#include "moe/Dialect/NN/NNOps.h"
#include "moe/Frontend/Parameters.h"
#include "moert/PlanNames.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Verifier.h"

#include "llvm/ADT/StringMap.h"

using namespace mlir;
using namespace ::moe::frontend;
using mlir::moe::MoeDialect;
namespace names = moert::names;

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
  /// Names the op defining `value` by its module path, as PyTorch names a
  /// module's output; the plan names the op's results after it.
  Value named(Value value, const std::string &path) {
    value.getDefiningOp()->setLoc(NameLoc::get(builder.getStringAttr(path)));
    return value;
  }
  Value add(Value a, Value b) {
    return builder.create<nn::AddOp>(loc, a.getType(), a, b);
  }
  Value linear(Value input, const std::string &prefix) {
    Value weight = param(prefix + ".weight");
    int64_t out = cast<ShapedType>(weight.getType()).getDimSize(0);
    return named(builder.create<nn::LinearOp>(loc, tensor({tokens, out}), input,
                                              weight,
                                              optionalParam(prefix + ".bias")),
                 prefix);
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
    return named(builder.create<nn::RMSNormOp>(loc, input.getType(), input,
                                               param(prefix + ".weight"), eps),
                 prefix);
  return named(builder.create<nn::LayerNormOp>(loc, input.getType(), input,
                                               param(prefix + ".weight"),
                                               param(prefix + ".bias"), eps),
               prefix);
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
  Value context = named(builder.create<nn::AttentionOp>(
                            loc, q.getType(), q, k, v,
                            builder.getI64IntegerAttr(c.numAttentionHeads),
                            builder.getI64IntegerAttr(c.kvHeads()),
                            builder.getI64IntegerAttr(c.seqLength)),
                        prefix + ".attention");
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
  return linear(named(hidden, prefix + ".act"), prefix + ".down_proj");
}

Value GraphBuilder::moeBlock(Value input, const std::string &prefix) {
  int64_t experts = c.numExperts, hidden = c.hiddenSize;
  Value routerInput = input;
  if (c.inputJitterEps > 0)
    routerInput = builder.create<mlir::moe::JitterOp>(
        loc, input, jitterSeed, builder.getF64FloatAttr(c.inputJitterEps));
  Value logits = named(builder.create<mlir::moe::RouterOp>(
                           loc, tensor({tokens, experts}), routerInput,
                           param(prefix + ".gate.weight")),
                       prefix + ".gate");
  if (c.zLossCoeff > 0)
    zLosses.push_back(
        named(builder.create<mlir::moe::ZLossOp>(
                  loc, logits, builder.getF64FloatAttr(c.zLossCoeff)),
              prefix + ".z_loss"));

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
    named(weights = choice.getWeights(), prefix + ".router");
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
      named(weights = route.getWeights(), prefix + ".router");
      indices = route.getIndices();
    } else {
      auto route = builder.create<mlir::moe::TopKOp>(
          loc, weightsType, indicesType, logits, builder.getI64IntegerAttr(k),
          mlir::moe::SoftmaxPlacementAttr::get(
              builder.getContext(), c.routerPreSoftmax
                                        ? mlir::moe::SoftmaxPlacement::pre
                                        : mlir::moe::SoftmaxPlacement::post));
      named(weights = route.getWeights(), prefix + ".router");
      indices = route.getIndices();
      if (c.loadBalancing != LoadBalancing::None && c.auxLossCoeff > 0) {
        IntegerAttr seqLength;
        if (c.loadBalancing == LoadBalancing::SeqAuxLoss)
          seqLength = builder.getI64IntegerAttr(c.seqLength);
        auxLosses.push_back(
            named(builder.create<mlir::moe::AuxLossOp>(
                      loc, logits, indices,
                      builder.getF64FloatAttr(c.auxLossCoeff), seqLength),
                  prefix + ".aux_loss"));
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
      named(keep = bound.getKeep(), prefix + ".capacity");
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
  named(permute.getRows(), prefix + ".permute");
  Value sizes = permute.getGroupSizes();
  int64_t ffn = c.expertFfnSize();
  std::string stacked = prefix + ".experts.{expert}";
  // The experts' rows: "experts.w1" holds every expert's w1 output.
  auto groupedMatmul = [&](Value x, const std::string &name, int64_t out) {
    return named(builder.create<mlir::moe::GroupedMatmulOp>(
                     loc, tensor({rows, out}), x,
                     param(stacked + "." + name + ".weight"), sizes),
                 prefix + ".experts." + name);
  };
  Value up = groupedMatmul(permute.getRows(), "w1", ffn);
  Value activated;
  if (c.activation == Activation::SwiGLU)
    activated = builder.create<nn::SwiGLUOp>(
        loc, up, groupedMatmul(permute.getRows(), "w3", ffn));
  else
    activated = builder.create<nn::GeLUOp>(loc, up, noApproximation());
  named(activated, prefix + ".experts.act");
  Value down = groupedMatmul(activated, "w2", hidden);
  Value output = builder.create<mlir::moe::UnpermuteOp>(
      loc, tensor({tokens, hidden}), down, permute.getRowMap(), weights);

  if (c.sharedExpertFfnHiddenSize) {
    named(output, prefix + ".routed_experts");
    Value shared = mlp(input, prefix + ".shared_expert");
    if (c.sharedExpertGate)
      shared = builder.create<nn::SigmoidGateOp>(
          loc, shared, linear(input, prefix + ".shared_expert_gate"));
    output = add(output, shared);
  }
  return named(output, prefix);
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
  MoeDialect::SeqLengthAttrHelper(builder.getContext())
      .setAttr(*module, builder.getI64IntegerAttr(c.seqLength));
  MoeDialect::MicroBatchSizeAttrHelper(builder.getContext())
      .setAttr(*module, builder.getI64IntegerAttr(c.microBatchSize));

  // Arguments: inputs, then the parameters in listParameters() order.
  SmallVector<Type> argTypes;
  SmallVector<DictionaryAttr> argAttrs;
  auto addArg = [&](Type type, StringRef kind, StringRef name) {
    argTypes.push_back(type);
    argAttrs.push_back(builder.getDictionaryAttr(
        builder.getNamedAttr(kind, builder.getStringAttr(name))));
  };
  Type ids = tensor({tokens}, builder.getI32Type());
  StringRef input = MoeDialect::getInputAttrName();
  addArg(ids, input, names::tokens);
  addArg(ids, input, names::labels);
  bool learnedPositions =
      c.positionEmbedding == PositionEmbedding::LearnedAbsolute;
  if (learnedPositions)
    addArg(ids, input, names::positions);
  bool jitter = false;
  for (int64_t i = 0; i < c.numLayers; ++i)
    jitter |= c.isMoELayer(i) && c.inputJitterEps > 0;
  if (jitter)
    addArg(builder.getI64Type(), input, names::jitterSeed);
  size_t firstParam = argTypes.size();
  std::vector<ParameterInfo> parameters = listParameters(c);
  for (const ParameterInfo &p : parameters)
    addArg(tensor(p.shape), MoeDialect::getParamAttrName(), p.name);

  Type scalar = tensor({});
  auto function = func::FuncOp::create(
      loc, names::forward,
      builder.getFunctionType(argTypes, {scalar, scalar, scalar}));
  function.setAllArgAttrs(argAttrs);
  StringRef resultNames[] = {names::lmLoss, names::auxLoss, names::zLoss};
  for (auto [i, name] : llvm::enumerate(resultNames))
    function.setResultAttr(i, MoeDialect::getResultAttrName(),
                           builder.getStringAttr(name));
  module->push_back(function);
  Block *body = function.addEntryBlock();
  builder.setInsertionPointToStart(body);

  for (auto [i, p] : llvm::enumerate(parameters))
    params[p.name] = body->getArgument(firstParam + i);
  unsigned nextInput = 2;
  Value positions = learnedPositions ? body->getArgument(nextInput++) : Value();
  jitterSeed = jitter ? body->getArgument(nextInput++) : Value();

  Value table = param("model.embed_tokens.weight");
  Value h =
      named(builder.create<nn::EmbeddingOp>(loc, tensor({tokens, c.hiddenSize}),
                                            body->getArgument(0), table),
            "model.embed_tokens");
  if (learnedPositions)
    h = named(add(h, builder.create<nn::EmbeddingOp>(
                         loc, tensor({tokens, c.hiddenSize}), positions,
                         param("model.embed_positions.weight"))),
              "model.embed_positions");
  for (int64_t i = 0; i < c.numLayers; ++i) {
    std::string layer = "model.layers." + std::to_string(i);
    // "<layer>.self_attn_residual" and "<layer>" are the two residual sums;
    // the second is the decoder layer's output.
    h = named(add(h, attention(norm(h, layer + ".input_layernorm"),
                               layer + ".self_attn")),
              layer + ".self_attn_residual");
    Value normed = norm(h, layer + ".post_attention_layernorm");
    h = named(add(h, c.isMoELayer(i)
                         ? moeBlock(normed, layer + ".block_sparse_moe")
                         : mlp(normed, layer + ".mlp")),
              layer);
  }
  h = norm(h, "model.norm");
  Value head = c.tieEmbeddings ? table : param("lm_head.weight");
  Value logits =
      named(builder.create<nn::LinearOp>(
                loc, tensor({tokens, c.paddedVocabSize()}), h, head, Value()),
            "lm_head");
  Value loss = named(builder.create<nn::CrossEntropyOp>(
                         loc, logits, body->getArgument(1), Value()),
                     "loss");
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
