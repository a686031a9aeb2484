//===- Trainer.h - training and evaluating a plan ---------------*- C++ -*-===//
//
// Runs a plan's programs the way Megatron's training loop runs a model: per
// optimizer step, zero the gradient accumulators, run `forward_backward` on
// each micro-batch of the global batch, then `optimizer_step`; evaluate the
// `forward` program on the validation split; log, save checkpoints.
//
//===----------------------------------------------------------------------===//

#ifndef MOERT_TRAINER_H
#define MOERT_TRAINER_H

#include "moert/Checkpoint.h"
#include "moert/Data.h"
#include "moert/TensorBoard.h"
#include "moert/cpu/Executor.h"

#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <optional>
#include <ostream>
#include <vector>

namespace moert {

/// Tokens each expert received, per MoE layer.
using ExpertCounts = std::map<int, std::vector<int64_t>>;

struct StepRecord;

struct TrainOptions {
  int64_t trainIters = 0;   // the run's length, which a decay may span
  int64_t exitInterval = 0; // stop early after a multiple of it; 0: never
  int64_t microBatches = 1; // per optimizer step
  int64_t logInterval = 10;
  int64_t evalInterval = 0; // 0: no periodic evaluation
  int64_t evalIters = 10;
  int64_t saveInterval = 0; // 0: save only at the end
  std::string save;         // checkpoint directory; empty: none
  std::string metricsJsonl; // one JSON object per logged step
  std::string tensorboardDir;
  bool perLayerLogging = false;
  bool progressBar = false;
  /// Called after each micro-batch's forward and backward (its inputs are
  /// still in the executor).
  std::function<Status()> afterMicroBatch;
  /// Called after every optimizer step with that step's numbers.
  std::function<Status(const StepRecord &)> afterStep;
};

struct EvalResult {
  double lmLoss = 0, auxLoss = 0, zLoss = 0;
  double secondsPerMicroBatch = 0;
  ExpertCounts tokensPerExpert;
};

/// One logged training step (averaged over the log interval).
struct StepRecord {
  int64_t step = 0;
  double lmLoss = 0, auxLoss = 0, zLoss = 0, lr = 0, gradNorm = 0;
  double secondsPerStep = 0;
  ExpertCounts tokensPerExpert;
};

class Trainer {
public:
  Trainer(cpu::Executor &executor, const data::Sampler *train,
          const data::Sampler &valid, TrainOptions options, uint64_t seed);

  /// Resumes from a checkpoint directory (iter_N); `loadRng` restores the
  /// seed of the data order and jitter.
  Status restore(const std::string &iterationDir, bool loadOptimizer,
                 bool loadRng);

  /// Trains until `trainIters` optimizer steps have been taken, logging to
  /// `out`.
  Status train(std::ostream &out);

  /// Evaluates `iters` validation micro-batches with the forward program.
  StatusOr<EvalResult> evaluate(int64_t iters);

  const TrainerState &state() const { return trainer; }
  /// Every logged step and validation, for the plot.
  const std::vector<StepRecord> &history() const { return logged; }
  const std::vector<std::pair<int64_t, double>> &validation() const {
    return validated;
  }

  /// Fills the executor's inputs from `samples` starting at `first`.
  void fillBatch(const data::Sampler &samples, int64_t first);

private:
  /// A schedule that decays over the run must have a run longer than its
  /// warmup.
  Status checkScheduleLength() const;
  Status step(StepRecord &accumulated);
  Status log(std::ostream &out, StepRecord record, int64_t steps);
  Status validate(std::ostream &out);
  /// Appends one JSON line to the metrics file, when there is one.
  Status appendMetrics(const nlohmann::json &row);
  void countTokens(const std::string &program, ExpertCounts &counts);
  float result(const std::string &program, const std::string &name);
  void setInput(const std::string &name, int64_t value);

  cpu::Executor &executor;
  const Plan &plan;
  const data::Sampler *trainSamples;
  const data::Sampler &validSamples;
  TrainOptions options;
  TrainerState trainer;
  std::optional<TensorBoardWriter> tensorboard;
  std::vector<StepRecord> logged;
  std::vector<std::pair<int64_t, double>> validated;
};

/// {"<layer>": [tokens of each expert], ...}, as the metrics files hold them.
nlohmann::json expertCountsJson(const ExpertCounts &counts);

/// "Tokens per expert, layer 0: 12 40 7 5" lines.
void printTokensPerExpert(std::ostream &out, const ExpertCounts &counts);

} // namespace moert

#endif // MOERT_TRAINER_H
