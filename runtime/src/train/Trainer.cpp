//===- Trainer.cpp - training and evaluating a plan -----------------------===//

#include "moert/Trainer.h"
#include "moert/PlanNames.h"
#include "moert/SplitMix.h"
#include "moert/Weights.h"

#include <fmt/format.h>

#include <chrono>
#include <climits>
#include <cmath>
#include <csignal>

namespace moert {

namespace {

double secondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
      .count();
}

void addCounts(ExpertCounts &into, const ExpertCounts &from) {
  for (const auto &[layer, list] : from) {
    std::vector<int64_t> &sum = into[layer];
    sum.resize(list.size(), 0);
    for (size_t e = 0; e < list.size(); ++e)
      sum[e] += list[e];
  }
}

void addCounts(DroppedCounts &into, const DroppedCounts &from) {
  for (const auto &[layer, count] : from)
    into[layer] += count;
}

} // namespace

Trainer::Trainer(Device &device, const data::Sampler *train,
                 const data::Sampler *valid, TrainOptions options,
                 uint64_t seed)
    : device(device), plan(device.plan()), trainSamples(train),
      validSamples(valid), options(std::move(options)) {
  trainer.seed = seed;
}

void Trainer::addSink(std::unique_ptr<MetricsSink> sink) {
  sinks.push_back(std::move(sink));
}

template <typename Event> Status Trainer::report(Event event) {
  for (const std::unique_ptr<MetricsSink> &sink : sinks)
    MOERT_RETURN_IF_ERROR(event(*sink));
  return Status();
}

Status Trainer::setInput(const char *name, int64_t value) {
  int index = plan.input(name);
  return index < 0 ? Status() : device.write(index, &value);
}

Status Trainer::fillBatch(const data::Sampler &samples, int64_t first) {
  int64_t seq = plan.training.seqLength, batch = plan.training.microBatchSize;
  std::vector<int32_t> tokens(seq * batch), labels(seq * batch);
  std::vector<int32_t> sample(seq + 1);
  for (int64_t b = 0; b < batch; ++b) {
    samples.sample(first + b, sample.data());
    for (int64_t s = 0; s < seq; ++s) {
      tokens[s * batch + b] = sample[s];
      labels[s * batch + b] = sample[s + 1];
    }
  }
  MOERT_RETURN_IF_ERROR(device.write(plan.input(names::tokens), tokens));
  MOERT_RETURN_IF_ERROR(device.write(plan.input(names::labels), labels));
  if (int index = plan.input(names::positions); index >= 0) {
    std::vector<int32_t> positions(seq * batch);
    for (int64_t t = 0; t < seq * batch; ++t)
      positions[t] = static_cast<int32_t>(t / batch);
    MOERT_RETURN_IF_ERROR(device.write(index, positions));
  }
  return Status();
}

Status Trainer::addResults(const Program &program, double scale,
                           std::initializer_list<NamedResult> results) {
  for (auto [into, name] : results) {
    auto it = program.results.find(name);
    float value = 0.0f;
    if (it != program.results.end())
      MOERT_RETURN_IF_ERROR(device.read(it->second, &value));
    *into += scale * value;
  }
  return Status();
}

std::pair<int64_t, int64_t> Trainer::dataStream() const {
  const Communicator &comm = device.communicator();
  int64_t streams = plan.training.dataParallelSize;
  // The ranks sharing a stream are consecutive: an ep group.
  return {streams, comm.rank() / (comm.worldSize() / streams)};
}

Status Trainer::reduceOverRanks(std::initializer_list<double *> means,
                                ExpertCounts &counts, DroppedCounts &dropped) {
  Communicator &comm = device.communicator();
  if (comm.worldSize() == 1)
    return Status();
  std::vector<float> values;
  for (double *value : means)
    values.push_back(static_cast<float>(*value));
  MOERT_RETURN_IF_ERROR(comm.allReduce(Group::DP, DType::F32, values.data(),
                                       values.size(), Reduction::Mean));
  size_t i = 0;
  for (double *value : means)
    *value = values[i++];
  // Every rank has the same layers, in the same order; ranks sharing their
  // micro-batches count the same tokens.
  std::vector<int32_t> flat;
  auto append = [&](int layer, int64_t count) {
    if (count > INT32_MAX / comm.worldSize())
      return Status::error(
          fmt::format("layer {} counts {} tokens, more than the ranks can "
                      "add up in 32 bits",
                      layer, count));
    flat.push_back(static_cast<int32_t>(count));
    return Status();
  };
  for (const auto &[layer, list] : counts)
    for (int64_t count : list)
      MOERT_RETURN_IF_ERROR(append(layer, count));
  for (const auto &[layer, count] : dropped)
    MOERT_RETURN_IF_ERROR(append(layer, count));
  MOERT_RETURN_IF_ERROR(comm.allReduce(Group::World, DType::I32, flat.data(),
                                       flat.size(), Reduction::Sum));
  int64_t replicas = comm.worldSize() / plan.training.dataParallelSize;
  i = 0;
  for (auto &[layer, list] : counts)
    for (int64_t &count : list)
      count = flat[i++] / replicas;
  for (auto &[layer, count] : dropped)
    count = flat[i++] / replicas;
  return Status();
}

Status Trainer::countTokens(const Program &program, ExpertCounts &counts,
                            DroppedCounts &dropped) {
  for (const ExpertLoadInfo &load : program.expertLoad) {
    std::vector<int64_t> &layer = counts[load.layer];
    layer.resize(plan.model.numExperts, 0);
    StatusOr<std::vector<int32_t>> ids = device.read<int32_t>(load.indices);
    if (!ids.ok())
      return ids.status();
    std::vector<uint8_t> keep;
    if (load.keep >= 0) {
      StatusOr<std::vector<uint8_t>> mask = device.read<uint8_t>(load.keep);
      if (!mask.ok())
        return mask.status();
      keep = std::move(*mask);
    }
    for (size_t p = 0; p < ids->size(); ++p) {
      int32_t id = (*ids)[p];
      if (id < 0 || id >= static_cast<int32_t>(layer.size()))
        continue;
      if (keep.empty() || keep[p])
        ++layer[id];
      else if (load.drops)
        ++dropped[load.layer];
    }
    if (load.drops)
      dropped[load.layer] += 0; // a layer with a capacity reports its drops
  }
  return Status();
}

StatusOr<EvalResult> Trainer::evaluate(int64_t iters) {
  const Program *forward = plan.program(names::forward);
  if (!forward)
    return Status::error("the plan has no 'forward' program");
  if (!validSamples)
    return Status::error("no validation data to evaluate");
  EvalResult eval;
  MOERT_RETURN_IF_ERROR(
      setInput(names::jitterSeed, static_cast<int64_t>(trainer.seed)));
  auto [streams, stream] = dataStream();
  for (int64_t i = 0; i < iters; ++i) {
    // Each data-parallel rank evaluates its own share of the batches.
    MOERT_RETURN_IF_ERROR(fillBatch(
        *validSamples, (i * streams + stream) * plan.training.microBatchSize));
    auto start = std::chrono::steady_clock::now();
    MOERT_RETURN_IF_ERROR(device.run(names::forward));
    MOERT_RETURN_IF_ERROR(device.synchronize());
    eval.secondsPerMicroBatch += secondsSince(start);
    MOERT_RETURN_IF_ERROR(addResults(*forward, 1.0,
                                     {{&eval.lmLoss, names::lmLoss},
                                      {&eval.auxLoss, names::auxLoss},
                                      {&eval.zLoss, names::zLoss}}));
    MOERT_RETURN_IF_ERROR(
        countTokens(*forward, eval.tokensPerExpert, eval.droppedTokens));
  }
  for (double *value :
       {&eval.lmLoss, &eval.auxLoss, &eval.zLoss, &eval.secondsPerMicroBatch})
    *value /= iters;
  MOERT_RETURN_IF_ERROR(
      reduceOverRanks({&eval.lmLoss, &eval.auxLoss, &eval.zLoss},
                      eval.tokensPerExpert, eval.droppedTokens));
  return eval;
}

Status Trainer::restore(const std::string &iterationDir, bool loadOptimizer,
                        bool loadRng) {
  TrainerState loaded;
  MOERT_RETURN_IF_ERROR(
      loadCheckpoint(device, iterationDir, loadOptimizer, loaded));
  if (!loadRng)
    loaded.seed = trainer.seed;
  trainer = loaded;
  return Status();
}

Status Trainer::step(StepRecord &record) {
  const Program &forwardBackward = *plan.program(names::forwardBackward);
  const Program &optimizerStep = *plan.program(names::optimizerStep);
  for (const auto &[name, index] : plan.states)
    if (name.rfind(names::gradPrefix, 0) == 0)
      MOERT_RETURN_IF_ERROR(device.zero(index));
  int64_t batch = plan.training.microBatchSize;
  double share = 1.0 / options.microBatches;
  // Data-parallel rank d's micro-batch m is the global batch's micro-batch
  // m * streams + d, so that any world reads the same samples and draws the
  // same jitter.
  auto [streams, stream] = dataStream();
  int64_t perStep = options.microBatches * streams;
  for (int64_t m = 0; m < options.microBatches; ++m) {
    int64_t global = m * streams + stream;
    MOERT_RETURN_IF_ERROR(
        fillBatch(*trainSamples, trainer.consumedSamples + global * batch));
    MOERT_RETURN_IF_ERROR(setInput(
        names::jitterSeed,
        static_cast<int64_t>(splitMix64(
            trainer.seed ^ splitMix64(trainer.iteration * perStep + global)))));
    MOERT_RETURN_IF_ERROR(device.run(names::forwardBackward));
    if (options.afterMicroBatch)
      MOERT_RETURN_IF_ERROR(options.afterMicroBatch());
    MOERT_RETURN_IF_ERROR(addResults(forwardBackward, share,
                                     {{&record.lmLoss, names::lmLoss},
                                      {&record.auxLoss, names::auxLoss},
                                      {&record.zLoss, names::zLoss}}));
    MOERT_RETURN_IF_ERROR(countTokens(forwardBackward, record.tokensPerExpert,
                                      record.droppedTokens));
  }
  std::string fault;
  if (options.checkNonFinite) {
    StatusOr<std::string> found = findNonFinite(record);
    if (!found.ok())
      return found.status();
    fault = *found;
  }
  StatusOr<bool> anyFault = agreeOnFaultsAndStop(!fault.empty());
  if (!anyFault.ok())
    return anyFault.status();
  MOERT_RETURN_IF_ERROR(
      reduceOverRanks({&record.lmLoss, &record.auxLoss, &record.zLoss},
                      record.tokensPerExpert, record.droppedTokens));
  if (*anyFault && !options.skipNonFinite) {
    if (fault.empty())
      fault = "another rank found a NaN or Inf in its losses or gradients";
    return Status::error(fmt::format(
        "iteration {}: {}; the update was not applied, so the weights and the "
        "last checkpoint are those of iteration {} (--skip-nonfinite-steps "
        "skips such steps instead)",
        trainer.iteration + 1, fault, trainer.iteration));
  }
  if (*anyFault) {
    // Megatron's skipped iteration: the schedule and the data move on.
    record.skipped = 1;
    ++skippedRun;
  } else {
    MOERT_RETURN_IF_ERROR(setInput(names::step, trainer.iteration + 1));
    MOERT_RETURN_IF_ERROR(setInput(names::trainIters, options.trainIters));
    MOERT_RETURN_IF_ERROR(device.run(names::optimizerStep));
    // The record starts at zero: adding sets the step's rate and norm.
    MOERT_RETURN_IF_ERROR(addResults(
        optimizerStep, 1.0,
        {{&record.lr, names::lr}, {&record.gradNorm, names::gradNorm}}));
  }
  ++trainer.iteration;
  trainer.consumedSamples += perStep * batch;
  return Status();
}

StatusOr<std::string> Trainer::findNonFinite(const StepRecord &record) {
  std::vector<std::string> found;
  for (auto [value, what] : {std::pair{record.lmLoss, "the LM loss"},
                             std::pair{record.auxLoss, "the aux loss"},
                             std::pair{record.zLoss, "the z-loss"}})
    if (!std::isfinite(value))
      found.push_back(fmt::format("{} is {}", what,
                                  std::isnan(value) ? "NaN"
                                  : value > 0       ? "Inf"
                                                    : "-Inf"));
  // The tensor (an expert's own, for a stacked one) of the first bad value,
  // with the decoder layer the plan gives its parameter.
  auto describe = [&](int index, const ParameterInfo &param,
                      const NonFiniteCount &count) {
    return fmt::format(
        "{}{}: {} NaN and {} Inf values",
        fileTensorName(device, index, param.name, count.first),
        param.layer >= 0 ? fmt::format(" (layer {})", param.layer) : "",
        count.nan, count.inf);
  };
  int64_t tensors = 0;
  std::string first;
  for (const ParameterInfo &param : plan.parameters) {
    auto grad = plan.states.find(names::gradPrefix + param.name);
    if (grad == plan.states.end())
      continue;
    StatusOr<NonFiniteCount> count = device.countNonFinite(grad->second);
    if (!count.ok())
      return count.status();
    if (count->any() && tensors++ == 0)
      first = describe(grad->second, param, *count);
  }
  if (tensors == 1)
    found.push_back("the gradient of " + first);
  else if (tensors > 1)
    found.push_back(
        fmt::format("the gradients of {} tensors hold NaN or Inf, the first {}",
                    tensors, first));
  // Where the fault may have come from: a parameter that is not finite.
  if (!found.empty())
    for (const ParameterInfo &param : plan.parameters) {
      StatusOr<NonFiniteCount> count = device.countNonFinite(param.tensor);
      if (!count.ok())
        return count.status();
      if (count->any()) {
        found.push_back("the parameter " +
                        describe(param.tensor, param, *count));
        break;
      }
    }
  std::string text;
  for (const std::string &item : found)
    text += (text.empty() ? "" : "; ") + item;
  return text;
}

StatusOr<bool> Trainer::agreeOnFaultsAndStop(bool localFault) {
  int localSignal = options.stopSignal ? options.stopSignal() : 0;
  Communicator &comm = device.communicator();
  int32_t flags[2] = {localFault, localSignal != 0};
  if (comm.worldSize() > 1)
    MOERT_RETURN_IF_ERROR(
        comm.allReduce(Group::World, DType::I32, flags, 2, Reduction::Max));
  // A rank told by another to stop names the signal the launcher sends.
  if (flags[1] != 0)
    stopped = localSignal != 0 ? localSignal : SIGTERM;
  return flags[0] != 0;
}

Status Trainer::checkScheduleLength() const {
  const ScheduleInfo &schedule = plan.training.schedule;
  // A decay without a length of its own spans the run.
  if (schedule.decayStyle == LRDecayStyle::Constant ||
      schedule.decayIters > 0 || options.trainIters > schedule.warmupIters)
    return Status();
  return Status::error(fmt::format(
      "the learning rate warms up over {} iterations and then decays until "
      "the last of the run's {} (--train-iters); train longer than the "
      "warmup, or stop early with --exit-interval",
      schedule.warmupIters, options.trainIters));
}

Status Trainer::train() {
  if (!trainSamples)
    return Status::error("no training data");
  for (const char *program : {names::forwardBackward, names::optimizerStep})
    if (!plan.program(program))
      return Status::error(fmt::format(
          "the plan has no '{}' program; recompile it with moe-compile",
          program));
  MOERT_RETURN_IF_ERROR(checkScheduleLength());
  int64_t firstStep = trainer.iteration;
  MOERT_RETURN_IF_ERROR(report([&](MetricsSink &sink) {
    return sink.begin(firstStep, options.trainIters);
  }));

  StepRecord interval;
  int64_t inInterval = 0; // applied steps; interval.skipped the others
  while (trainer.iteration < options.trainIters) {
    auto start = std::chrono::steady_clock::now();
    StepRecord current;
    CommTraffic before = device.communicator().traffic();
    MOERT_RETURN_IF_ERROR(step(current));
    const CommTraffic &after = device.communicator().traffic();
    traffic.allToAll += after.allToAll - before.allToAll;
    traffic.allGather += after.allGather - before.allGather;
    traffic.reduceScatter += after.reduceScatter - before.reduceScatter;
    traffic.allReduce += after.allReduce - before.allReduce;
    ++stepsRun;
    current.secondsPerStep = secondsSince(start);
    current.step = trainer.iteration;
    MOERT_RETURN_IF_ERROR(
        report([&](MetricsSink &sink) { return sink.onStep(current); }));
    // Skipped steps count, but their losses stay out of the averages.
    interval.skipped += current.skipped;
    if (!current.skipped) {
      interval.lmLoss += current.lmLoss;
      interval.auxLoss += current.auxLoss;
      interval.zLoss += current.zLoss;
      interval.gradNorm += current.gradNorm;
      interval.lr = current.lr;
      ++inInterval;
    }
    interval.secondsPerStep += current.secondsPerStep;
    addCounts(interval.tokensPerExpert, current.tokensPerExpert);
    addCounts(interval.droppedTokens, current.droppedTokens);
    // Megatron's --exit-interval: the run ends early, as if at its end; so
    // does a stop signal.
    bool last = trainer.iteration == options.trainIters ||
                (options.exitInterval > 0 &&
                 trainer.iteration % options.exitInterval == 0) ||
                stopped != 0;
    if (trainer.iteration % options.logInterval == 0 || last) {
      for (double *value : {&interval.lmLoss, &interval.auxLoss,
                            &interval.zLoss, &interval.gradNorm})
        *value = inInterval > 0 ? *value / inInterval : NAN;
      interval.secondsPerStep /= inInterval + interval.skipped;
      interval.step = trainer.iteration;
      MOERT_RETURN_IF_ERROR(
          report([&](MetricsSink &sink) { return sink.onLog(interval); }));
      interval = StepRecord();
      inInterval = 0;
    }
    if (options.evalInterval > 0 && stopped == 0 &&
        (trainer.iteration % options.evalInterval == 0 || last)) {
      StatusOr<EvalResult> eval = evaluate(options.evalIters);
      if (!eval.ok())
        return eval.status();
      MOERT_RETURN_IF_ERROR(report([&](MetricsSink &sink) {
        return sink.onValidation(trainer.iteration, *eval);
      }));
    }
    bool periodic = options.saveInterval > 0 &&
                    trainer.iteration % options.saveInterval == 0;
    if (!options.save.empty() && (periodic || last)) {
      MOERT_RETURN_IF_ERROR(saveCheckpoint(device, options.save, trainer));
      MOERT_RETURN_IF_ERROR(report([&](MetricsSink &sink) {
        return sink.onCheckpoint(trainer.iteration, options.save);
      }));
    }
    if (last)
      break;
  }
  // A run resumed at its last step still saves, as Megatron does: the loaded
  // state, under its iteration, in --save.
  if (trainer.iteration == firstStep && !options.save.empty()) {
    MOERT_RETURN_IF_ERROR(saveCheckpoint(device, options.save, trainer));
    MOERT_RETURN_IF_ERROR(report([&](MetricsSink &sink) {
      return sink.onCheckpoint(trainer.iteration, options.save);
    }));
  }
  return report([](MetricsSink &sink) { return sink.end(); });
}

} // namespace moert
