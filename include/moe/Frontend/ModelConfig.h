//===- ModelConfig.h - a parsed, format-independent model description -*- C++
//-*-===//
//
// Every frontend (NeMo YAML, Megatron flags, the minimal pretraining guide's
// flags, Hugging Face config.json) fills this one structure; the graph builder
// and the summary read only it. Defaults are Megatron-Core's.
//
//===----------------------------------------------------------------------===//

#ifndef MOE_FRONTEND_MODELCONFIG_H
#define MOE_FRONTEND_MODELCONFIG_H

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace moe::frontend {

enum class Normalization { RMSNorm, LayerNorm };
enum class Activation { SwiGLU, GeLU };
enum class PositionEmbedding { RoPE, LearnedAbsolute, None };
enum class Router { TopK, Sinkhorn, ExpertChoice };
enum class LoadBalancing { AuxLoss, SeqAuxLoss, None };
enum class DropPolicy { Probs, Position };
// Replicated: the minimal pretraining guide's expert parallelism, where the
// ranks of an ep group see the same tokens and sum their experts' outputs.
enum class Dispatcher { AllGather, AllToAll, Replicated };
enum class LRDecay { Constant, Linear, Cosine };
enum class Precision { FP32, BF16, FP16 };

struct ModelConfig {
  // Transformer.
  int64_t numLayers = 0;
  int64_t hiddenSize = 0;
  int64_t ffnHiddenSize = 0; // 0: 4 * hidden (Megatron's default)
  int64_t numAttentionHeads = 0;
  int64_t numQueryGroups = 0; // 0: no GQA (one group per head)
  int64_t kvChannels = 0;     // 0: hidden / heads
  int64_t seqLength = 0;
  int64_t maxPositionEmbeddings = 0; // 0: seqLength
  int64_t vocabSize = 0;
  int64_t makeVocabSizeDivisibleBy = 1;
  Normalization normalization = Normalization::LayerNorm;
  double normEpsilon = 1e-5;
  Activation activation = Activation::GeLU;
  PositionEmbedding positionEmbedding = PositionEmbedding::LearnedAbsolute;
  double rotaryBase = 10000.0;
  bool tieEmbeddings = true;
  bool addBiasLinear = true;
  bool addQKVBias = false;
  double initMethodStd = 0.02;

  // Mixture of experts. numExperts == 0 is a dense model.
  int64_t numExperts = 0;
  int64_t moeFfnHiddenSize = 0; // 0: ffnHiddenSize
  int64_t topK = 2;
  // One entry per layer, true for an MoE layer; empty means every layer.
  std::vector<bool> moeLayers;
  Router router = Router::TopK;
  LoadBalancing loadBalancing = LoadBalancing::AuxLoss;
  bool routerPreSoftmax = false;
  double auxLossCoeff = 0.0;
  double zLossCoeff = 0.0;
  double inputJitterEps = 0.0;
  std::optional<double> capacityFactor;
  bool padToCapacity = false;
  DropPolicy dropPolicy = DropPolicy::Probs;
  Dispatcher dispatcher = Dispatcher::AllGather;
  bool perLayerLogging = false;
  bool layerRecompute = false;
  // AdamW state sharded over the ranks holding each parameter (Megatron's
  // --use-distributed-optimizer, NeMo's distributed_fused_adam).
  bool distributedOptimizer = false;
  bool groupedGemm = false;
  int64_t sharedExpertFfnHiddenSize = 0; // 0: no shared expert
  bool sharedExpertGate = false;         // Qwen2-MoE's sigmoid gate

  // Training.
  int64_t microBatchSize = 1;
  int64_t globalBatchSize = 0; // 0: microBatchSize * data-parallel size
  int64_t trainIters = 0;
  double lr = 0.0;
  double minLr = 0.0;
  int64_t lrWarmupIters = 0;
  int64_t lrDecayIters = 0; // 0: the length of the training run
  LRDecay lrDecayStyle = LRDecay::Linear;
  double weightDecay = 0.01;
  double adamBeta1 = 0.9;
  double adamBeta2 = 0.999;
  double adamEps = 1e-8;
  double clipGrad = 1.0;
  int64_t seed = 1234;
  Precision precision = Precision::FP32;
  int64_t tensorParallelSize = 1;
  int64_t pipelineParallelSize = 1;
  int64_t expertParallelSize = 1;
  std::vector<std::string> dataPath;
  std::string split = "969,30,1";
  std::string tokenizerType;
  std::string tokenizerModel;
  int64_t logInterval = 100;
  int64_t evalInterval = 1000;
  int64_t evalIters = 100;
  int64_t saveInterval = 0;
  std::string save;
  std::string load;
  std::string tensorboardDir;

  bool isMoELayer(int64_t layer) const {
    return numExperts > 0 && (moeLayers.empty() || moeLayers[layer]);
  }
  int64_t headDim() const {
    return kvChannels ? kvChannels : hiddenSize / numAttentionHeads;
  }
  int64_t kvHeads() const {
    return numQueryGroups ? numQueryGroups : numAttentionHeads;
  }
  int64_t ffnSize() const {
    return ffnHiddenSize ? ffnHiddenSize : 4 * hiddenSize;
  }
  int64_t expertFfnSize() const {
    return moeFfnHiddenSize ? moeFfnHiddenSize : ffnSize();
  }
  /// The vocabulary rounded up to `makeVocabSizeDivisibleBy`, as Megatron pads
  /// the embedding table.
  int64_t paddedVocabSize() const {
    int64_t multiple = makeVocabSizeDivisibleBy * tensorParallelSize;
    return (vocabSize + multiple - 1) / multiple * multiple;
  }
  int64_t tokensPerMicroBatch() const { return microBatchSize * seqLength; }
};

} // namespace moe::frontend

#endif // MOE_FRONTEND_MODELCONFIG_H
