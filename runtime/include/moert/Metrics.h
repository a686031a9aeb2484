//===- Metrics.h - where a training run's numbers go ------------*- C++ -*-===//
//
// The trainer reports what happens (a step, a log interval, a validation, a
// checkpoint) to metrics sinks, each of which writes it somewhere: the log
// lines on the terminal, a progress bar, a JSONL file, TensorBoard event
// files, a plot at the end.
//
//===----------------------------------------------------------------------===//

#ifndef MOERT_METRICS_H
#define MOERT_METRICS_H

#include "moert/Status.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

namespace moert {

/// Tokens each expert received, per MoE layer.
using ExpertCounts = std::map<int, std::vector<int64_t>>;
/// Routed tokens a capacity dropped, per MoE layer that has one.
using DroppedCounts = std::map<int, int64_t>;

/// One training step, or the average of the steps of a log interval (with
/// the learning rate of its last step and the tokens summed).
struct StepRecord {
  int64_t step = 0;
  double lmLoss = 0, auxLoss = 0, zLoss = 0, lr = 0, gradNorm = 0;
  double secondsPerStep = 0;
  int64_t skipped = 0; // steps whose update was skipped for a NaN or Inf
  ExpertCounts tokensPerExpert; // the tokens the experts took
  DroppedCounts droppedTokens;
};

/// The losses of the forward program over validation micro-batches.
struct EvalResult {
  double lmLoss = 0, auxLoss = 0, zLoss = 0;
  double secondsPerMicroBatch = 0;
  ExpertCounts tokensPerExpert;
  DroppedCounts droppedTokens;
};

/// Receives the events of a training run, in this order: begin, then per
/// step onStep and, at the steps that end a log interval, validate or save,
/// onLog, onValidation and onCheckpoint; end after the last step. Sinks see
/// each event in the order they were added to the trainer.
class MetricsSink {
public:
  virtual ~MetricsSink() = default;
  /// Training starts at `firstStep` (later than 0 when resumed) of a run of
  /// `trainIters` steps.
  virtual Status begin(int64_t firstStep, int64_t trainIters);
  virtual Status onStep(const StepRecord &step);
  virtual Status onLog(const StepRecord &interval);
  virtual Status onValidation(int64_t step, const EvalResult &eval);
  virtual Status onCheckpoint(int64_t step, const std::string &directory);
  virtual Status end();
};

/// "Step 100 | Loss: 3.2415 | Aux Loss: 0.0234 | LR: 3.00e-04" lines (and
/// tokens per expert when `perLayer`), validation lines and checkpoint
/// notes.
std::unique_ptr<MetricsSink> terminalLog(std::ostream &out, bool perLayer);

/// A progress bar with the time left, redrawn in place on `out` after every
/// step and cleared before any other sink's line: add it first.
std::unique_ptr<MetricsSink> progressBar(std::FILE *out);

/// One JSON object per log interval and validation; a run from step 0
/// starts the file, a resumed run appends to it.
std::unique_ptr<MetricsSink> jsonlMetrics(std::string path);

/// TensorBoard scalars under Megatron's tags ("lm loss",
/// "load_balancing_loss", "learning-rate", "tokens_per_expert/layer_0/
/// expert_3", ...).
std::unique_ptr<MetricsSink> tensorBoardMetrics(std::string directory);

/// Draws the loss and each MoE layer's load to `png` at the end of the run
/// with matplotlib (the moe-plot script): from `jsonl`, the whole run's
/// metrics file, when given, or from this run's records. Says on `out` where
/// the plot went, or that matplotlib is missing.
std::unique_ptr<MetricsSink> trainingPlot(std::string png, std::string jsonl,
                                          std::ostream &out);

/// {"step": ..., "lm_loss": ..., "tokens_per_expert": {"0": [...]}}, a line
/// of the metrics file.
nlohmann::json stepJson(const StepRecord &record);
/// {"step": ..., "validation_lm_loss": ..., ...}.
nlohmann::json validationJson(int64_t step, const EvalResult &eval);
/// {"<layer>": [tokens of each expert], ...}, as the metrics files hold them.
nlohmann::json expertCountsJson(const ExpertCounts &counts);
/// {"<layer>": dropped tokens}.
nlohmann::json droppedCountsJson(const DroppedCounts &dropped);

/// "Tokens per expert, layer 0: 12 40 7 5" lines.
void printTokensPerExpert(std::ostream &out, const ExpertCounts &counts,
                          const DroppedCounts &dropped);

} // namespace moert

#endif // MOERT_METRICS_H
