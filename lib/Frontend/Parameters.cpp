//===- Parameters.cpp - the trainable tensors of a model ------------------===//

#include "moe/Frontend/Parameters.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"

using namespace moe::frontend;

namespace {
class ParameterLister {
public:
  explicit ParameterLister(const ModelConfig &config) : c(config) {}

  std::vector<ParameterInfo> run() {
    int64_t hidden = c.hiddenSize;
    add("model.embed_tokens.weight", {c.paddedVocabSize(), hidden},
        ParameterRole::Embedding);
    if (c.positionEmbedding == PositionEmbedding::LearnedAbsolute)
      add("model.embed_positions.weight",
          {c.maxPositionEmbeddings ? c.maxPositionEmbeddings : c.seqLength,
           hidden},
          ParameterRole::Embedding);
    for (int64_t i = 0; i < c.numLayers; ++i)
      addLayer(i);
    addNorm("model.norm", -1);
    if (!c.tieEmbeddings)
      add("lm_head.weight", {c.paddedVocabSize(), hidden}, ParameterRole::Head);
    return std::move(params);
  }

private:
  void add(std::string name, std::vector<int64_t> shape, ParameterRole role,
           int64_t layer = -1, bool isBias = false) {
    params.push_back({std::move(name), std::move(shape), role, layer, isBias});
  }
  /// A PyTorch linear layer: "<prefix>.weight" [out, in] and, when `bias`,
  /// "<prefix>.bias" [out].
  void addLinear(const std::string &prefix, int64_t out, int64_t in,
                 ParameterRole role, int64_t layer, bool bias) {
    add(prefix + ".weight", {out, in}, role, layer);
    if (bias)
      add(prefix + ".bias", {out}, role, layer, /*isBias=*/true);
  }
  void addNorm(const std::string &prefix, int64_t layer) {
    add(prefix + ".weight", {c.hiddenSize}, ParameterRole::Norm, layer);
    if (c.normalization == Normalization::LayerNorm)
      add(prefix + ".bias", {c.hiddenSize}, ParameterRole::Norm, layer, true);
  }
  /// gate_proj/up_proj/down_proj (SwiGLU) or up_proj/down_proj (GeLU).
  void addMLP(const std::string &prefix, int64_t ffn, ParameterRole role,
              int64_t layer) {
    bool bias = c.addBiasLinear;
    if (c.activation == Activation::SwiGLU)
      addLinear(prefix + ".gate_proj", ffn, c.hiddenSize, role, layer, bias);
    addLinear(prefix + ".up_proj", ffn, c.hiddenSize, role, layer, bias);
    addLinear(prefix + ".down_proj", c.hiddenSize, ffn, role, layer, bias);
  }

  void addLayer(int64_t i) {
    std::string layer = "model.layers." + std::to_string(i);
    int64_t hidden = c.hiddenSize, qWidth = c.numAttentionHeads * c.headDim(),
            kvWidth = c.kvHeads() * c.headDim();
    bool qkvBias = c.addBiasLinear || c.addQKVBias;
    addNorm(layer + ".input_layernorm", i);
    std::string attn = layer + ".self_attn";
    addLinear(attn + ".q_proj", qWidth, hidden, ParameterRole::Attention, i,
              qkvBias);
    addLinear(attn + ".k_proj", kvWidth, hidden, ParameterRole::Attention, i,
              qkvBias);
    addLinear(attn + ".v_proj", kvWidth, hidden, ParameterRole::Attention, i,
              qkvBias);
    addLinear(attn + ".o_proj", hidden, qWidth, ParameterRole::Attention, i,
              c.addBiasLinear);
    addNorm(layer + ".post_attention_layernorm", i);
    if (!c.isMoELayer(i)) {
      addMLP(layer + ".mlp", c.ffnSize(), ParameterRole::DenseMLP, i);
      return;
    }
    std::string moe = layer + ".block_sparse_moe";
    int64_t experts = c.numExperts, ffn = c.expertFfnSize();
    add(moe + ".gate.weight", {experts, hidden}, ParameterRole::Router, i);
    std::string stacked = moe + ".experts.{expert}";
    add(stacked + ".w1.weight", {experts, ffn, hidden}, ParameterRole::Expert,
        i);
    if (c.activation == Activation::SwiGLU)
      add(stacked + ".w3.weight", {experts, ffn, hidden}, ParameterRole::Expert,
          i);
    add(stacked + ".w2.weight", {experts, hidden, ffn}, ParameterRole::Expert,
        i);
    if (c.sharedExpertFfnHiddenSize) {
      addMLP(moe + ".shared_expert", c.sharedExpertFfnHiddenSize,
             ParameterRole::SharedExpert, i);
      if (c.sharedExpertGate)
        add(moe + ".shared_expert_gate.weight", {1, hidden},
            ParameterRole::SharedExpert, i);
    }
  }

  const ModelConfig &c;
  std::vector<ParameterInfo> params;
};

/// "46.7B", "12.9M", "512".
std::string humanCount(double count) {
  const char *suffixes[] = {"", "K", "M", "B", "T"};
  int index = 0;
  while (count >= 1000 && index < 4) {
    count /= 1000;
    ++index;
  }
  std::string text;
  llvm::raw_string_ostream os(text);
  if (index == 0)
    os << static_cast<int64_t>(count);
  else
    os << llvm::format("%.1f%s", count, suffixes[index]);
  return text;
}

std::string withCommas(int64_t value) {
  std::string digits = std::to_string(value), text;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0)
      text += ',';
    text += digits[i];
  }
  return text;
}
} // namespace

std::vector<ParameterInfo>
moe::frontend::listParameters(const ModelConfig &config) {
  return ParameterLister(config).run();
}

void moe::frontend::printSummary(const ModelConfig &config,
                                 llvm::raw_ostream &os) {
  std::vector<ParameterInfo> params = listParameters(config);
  // A routed expert serves k of E tokens' slots on average; an expert-choice
  // expert takes C = T * factor / E tokens, i.e. `factor` experts per token.
  double expertsPerToken = config.router == Router::ExpertChoice
                               ? config.capacityFactor.value_or(1.0)
                               : static_cast<double>(config.topK);
  double activeShare =
      config.numExperts ? expertsPerToken / config.numExperts : 0.0;

  int64_t total = 0;
  double active = 0, matmulFlops = 0;
  for (const ParameterInfo &p : params) {
    int64_t n = p.numElements();
    double used = p.role == ParameterRole::Expert ? n * activeShare : n;
    total += n;
    active += used;
    // Two FLOPs per weight per token for every multiplied matrix; embedding
    // tables are looked up, biases and norms are not matrix products.
    if (p.role != ParameterRole::Embedding && p.role != ParameterRole::Norm &&
        !p.isBias)
      matmulFlops += 2 * used;
  }
  if (config.tieEmbeddings)
    matmulFlops += 2.0 * config.paddedVocabSize() * config.hiddenSize;
  // Scores and weighted values: 2 * 2 * heads * head_dim per key; a causal
  // query at position s sees s + 1 keys, (S + 1) / 2 on average.
  double attentionFlops = 2.0 * config.numLayers * config.numAttentionHeads *
                          config.headDim() * (config.seqLength + 1);

  std::string moeLayers;
  int64_t moeCount = 0;
  for (int64_t i = 0; i < config.numLayers; ++i) {
    if (!config.isMoELayer(i))
      continue;
    moeLayers += (moeCount++ ? " " : "") + std::to_string(i);
  }
  os << "Model: " << config.numLayers << " layers, hidden " << config.hiddenSize
     << ", " << config.numAttentionHeads << " heads (" << config.kvHeads()
     << " key/value), vocabulary " << config.paddedVocabSize();
  if (config.numExperts)
    os << ", " << config.numExperts << " experts, "
       << (config.router == Router::ExpertChoice
               ? std::string("expert choice")
               : llvm::formatv("top-{0}", config.topK).str());
  os << "\n";
  os << "MoE layers: " << (moeCount ? moeLayers : "none") << "\n";
  os << "Total parameters: " << withCommas(total) << " (" << humanCount(total)
     << ")\n";
  os << "Active parameters per token: "
     << withCommas(static_cast<int64_t>(active)) << " (" << humanCount(active)
     << ")\n";
  os << "Forward FLOPs per token: " << humanCount(matmulFlops + attentionFlops)
     << " (matmuls " << humanCount(matmulFlops) << ", attention at sequence "
     << config.seqLength << " " << humanCount(attentionFlops) << ")\n";
}
