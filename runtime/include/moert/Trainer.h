//===- Trainer.h - training and evaluating a plan ---------------*- C++ -*-===//
//
// Runs a plan's programs the way Megatron's training loop runs a model: per
// optimizer step, zero the gradient accumulators, run `forward_backward` on
// each micro-batch of the global batch, then `optimizer_step`; evaluate the
// `forward` program on the validation split; save checkpoints; report every
// step, log interval, validation and checkpoint to the metrics sinks.
//
//===----------------------------------------------------------------------===//

#ifndef MOERT_TRAINER_H
#define MOERT_TRAINER_H

#include "moert/Checkpoint.h"
#include "moert/Data.h"
#include "moert/Device.h"
#include "moert/Metrics.h"

#include <functional>
#include <initializer_list>
#include <memory>
#include <utility>
#include <vector>

namespace moert {

struct TrainOptions {
  int64_t trainIters = 0;   // the run's length, which a decay may span
  int64_t exitInterval = 0; // stop early after a multiple of it; 0: never
  int64_t microBatches = 1; // per optimizer step
  int64_t logInterval = 10;
  int64_t evalInterval = 0; // 0: no periodic evaluation
  int64_t evalIters = 10;
  int64_t saveInterval = 0; // 0: save only at the end
  std::string save;         // checkpoint directory; empty: none
  /// Called after each micro-batch's forward and backward (its inputs are
  /// still on the device).
  std::function<Status()> afterMicroBatch;
  /// Megatron's --check-for-nan-in-loss-and-grad: before each optimizer
  /// step, the losses and every gradient are checked for NaN and Inf.
  bool checkNonFinite = true;
  /// What a non-finite step does: false ends the run before the update
  /// (the weights and checkpoints stay those of the last good step); true
  /// skips the update, counts the step as skipped and goes on.
  bool skipNonFinite = false;
  /// The signal that asks the run to stop after the current step, or 0
  /// while none has (polled once a step; the ranks agree on it).
  std::function<int()> stopSignal;
};

class Trainer {
public:
  /// `valid` may be null for a run that does not validate.
  Trainer(Device &device, const data::Sampler *train,
          const data::Sampler *valid, TrainOptions options, uint64_t seed);

  /// Adds a sink for the events of train(); sinks see them in this order.
  void addSink(std::unique_ptr<MetricsSink> sink);

  /// Resumes from a checkpoint directory (iter_N); `loadRng` restores the
  /// seed of the data order and jitter.
  Status restore(const std::string &iterationDir, bool loadOptimizer,
                 bool loadRng);

  /// Trains until `trainIters` optimizer steps have been taken.
  Status train();

  /// Evaluates `iters` validation micro-batches with the forward program.
  StatusOr<EvalResult> evaluate(int64_t iters);

  const TrainerState &state() const { return trainer; }

  /// What this rank sent to others in the steps train() took, and how many.
  const CommTraffic &stepTraffic() const { return traffic; }
  int64_t stepsTaken() const { return stepsRun; }
  /// Steps whose update was skipped for a NaN or Inf (skipNonFinite).
  int64_t stepsSkipped() const { return skippedRun; }
  /// The signal train() stopped early for, or 0.
  int stoppedBy() const { return stopped; }

  /// Writes the inputs of the micro-batch of `samples` starting at `first`
  /// to the device.
  Status fillBatch(const data::Sampler &samples, int64_t first);

private:
  /// A schedule that decays over the run must have a run longer than its
  /// warmup.
  Status checkScheduleLength() const;
  Status step(StepRecord &record);
  /// Sends an event to every sink, stopping at the first failure.
  template <typename Event> Status report(Event event);
  Status countTokens(const Program &program, ExpertCounts &counts,
                     DroppedCounts &dropped);
  /// The number of data-parallel streams of micro-batches, and this rank's.
  std::pair<int64_t, int64_t> dataStream() const;
  /// Averages `means` over the data-parallel ranks and sums `counts` and
  /// `dropped` over every rank; nothing to do in a one-rank launch.
  Status reduceOverRanks(std::initializer_list<double *> means,
                         ExpertCounts &counts, DroppedCounts &dropped);
  /// A field of a record and the program result it takes.
  using NamedResult = std::pair<double *, const char *>;
  /// Adds `scale` times each named result of `program` (0 when the program
  /// has none of that name) into its field.
  Status addResults(const Program &program, double scale,
                    std::initializer_list<NamedResult> results);
  Status setInput(const char *name, int64_t value);
  /// What is NaN or Inf among the step's losses and this rank's gradients,
  /// or "" when nothing is.
  StatusOr<std::string> findNonFinite(const StepRecord &record);
  /// Whether any rank found a non-finite value, and whether any was asked
  /// to stop (sets `stopped`).
  StatusOr<bool> agreeOnFaultsAndStop(bool localFault);

  Device &device;
  const Plan &plan;
  const data::Sampler *trainSamples;
  const data::Sampler *validSamples; // null: no validation
  TrainOptions options;
  TrainerState trainer;
  std::vector<std::unique_ptr<MetricsSink>> sinks;
  CommTraffic traffic;
  int64_t stepsRun = 0;
  int64_t skippedRun = 0;
  int stopped = 0;
};

} // namespace moert

#endif // MOERT_TRAINER_H
