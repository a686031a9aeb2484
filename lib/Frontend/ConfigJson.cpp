//===- ConfigJson.cpp - the resolved model description as JSON ------------===//

#include "moe/Frontend/ConfigJson.h"

#include "llvm/Support/JSON.h"

using namespace moe::frontend;
namespace json = llvm::json;

/// JSON text must be UTF-8; a path or name of other bytes is written with
/// U+FFFD in their place.
static json::Value text(const std::string &value) {
  return json::isUTF8(value) ? json::Value(value)
                             : json::Value(json::fixUTF8(value));
}

static const char *name(Normalization value) {
  return value == Normalization::RMSNorm ? "rmsnorm" : "layernorm";
}
static const char *name(Activation value) {
  return value == Activation::SwiGLU ? "swiglu" : "gelu";
}
static const char *name(PositionEmbedding value) {
  switch (value) {
  case PositionEmbedding::RoPE:
    return "rope";
  case PositionEmbedding::LearnedAbsolute:
    return "learned_absolute";
  case PositionEmbedding::None:
    return "none";
  }
  return "";
}
static const char *name(Router value) {
  switch (value) {
  case Router::TopK:
    return "topk";
  case Router::Sinkhorn:
    return "sinkhorn";
  case Router::ExpertChoice:
    return "expert_choice";
  }
  return "";
}
static const char *name(LoadBalancing value) {
  switch (value) {
  case LoadBalancing::AuxLoss:
    return "aux_loss";
  case LoadBalancing::SeqAuxLoss:
    return "seq_aux_loss";
  case LoadBalancing::None:
    return "none";
  }
  return "";
}

std::string moe::frontend::configToJson(const ModelConfig &c) {
  json::Array dataPath;
  for (const std::string &path : c.dataPath)
    dataPath.push_back(text(path));
  json::Array moeLayers;
  for (int64_t i = 0; i < c.numLayers; ++i)
    if (c.isMoELayer(i))
      moeLayers.push_back(i);
  json::Object object{
      {"num_layers", c.numLayers},
      {"hidden_size", c.hiddenSize},
      {"ffn_hidden_size", c.ffnSize()},
      {"num_attention_heads", c.numAttentionHeads},
      {"num_kv_heads", c.kvHeads()},
      {"head_dim", c.headDim()},
      {"seq_length", c.seqLength},
      {"micro_batch_size", c.microBatchSize},
      {"vocab_size", c.paddedVocabSize()},
      {"normalization", name(c.normalization)},
      {"norm_epsilon", c.normEpsilon},
      {"activation", name(c.activation)},
      {"position_embedding_type", name(c.positionEmbedding)},
      {"rotary_base", c.rotaryBase},
      {"tie_embeddings", c.tieEmbeddings},
      {"add_bias_linear", c.addBiasLinear},
      {"add_qkv_bias", c.addQKVBias},
      {"init_method_std", c.initMethodStd},
      {"seed", c.seed},
      {"num_experts", c.numExperts},
      {"moe_layers", std::move(moeLayers)},
      {"moe_ffn_hidden_size", c.expertFfnSize()},
      {"topk", c.topK},
      {"router", name(c.router)},
      {"router_pre_softmax", c.routerPreSoftmax},
      {"load_balancing", name(c.loadBalancing)},
      {"aux_loss_coeff", c.auxLossCoeff},
      {"z_loss_coeff", c.zLossCoeff},
      {"input_jitter_eps", c.inputJitterEps},
      {"capacity_factor", c.capacityFactor ? json::Value(*c.capacityFactor)
                                           : json::Value(nullptr)},
      {"pad_to_capacity", c.padToCapacity},
      {"drop_policy", c.dropPolicy == DropPolicy::Probs ? "probs" : "position"},
      {"shared_expert_ffn_hidden_size", c.sharedExpertFfnHiddenSize},
      {"shared_expert_gate", c.sharedExpertGate},
      {"data_path", std::move(dataPath)},
      {"split", text(c.split)},
      {"tokenizer_type", text(c.tokenizerType)},
      {"tokenizer_model", text(c.tokenizerModel)},
      {"moe_per_layer_logging", c.perLayerLogging},
      {"moe_layer_recompute", c.layerRecompute},
      {"expert_model_parallel_size", c.expertParallelSize},
      {"use_distributed_optimizer", c.distributedOptimizer},
      {"global_batch_size",
       c.globalBatchSize ? c.globalBatchSize : c.microBatchSize},
      {"train_iters", c.trainIters},
      {"lr", c.lr},
      {"min_lr", c.minLr},
      {"lr_warmup_iters", c.lrWarmupIters},
      // 0: the decay spans the training run, as moe-run is told its length.
      {"lr_decay_iters", c.lrDecayIters},
      {"lr_decay_style", c.lrDecayStyle == LRDecay::Cosine   ? "cosine"
                         : c.lrDecayStyle == LRDecay::Linear ? "linear"
                                                             : "constant"},
      {"weight_decay", c.weightDecay},
      {"adam_beta1", c.adamBeta1},
      {"adam_beta2", c.adamBeta2},
      {"adam_eps", c.adamEps},
      {"clip_grad", c.clipGrad},
      {"log_interval", c.logInterval},
      {"eval_interval", c.evalInterval},
      {"eval_iters", c.evalIters},
      {"save_interval", c.saveInterval},
      {"save", text(c.save)},
      {"load", text(c.load)},
      {"tensorboard_dir", text(c.tensorboardDir)},
  };
  std::string out;
  llvm::raw_string_ostream os(out);
  os << json::Value(std::move(object));
  return out;
}
