//===- Trainer.cpp - training and evaluating a plan -----------------------===//

#include "moert/Trainer.h"
#include "moert/SplitMix.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

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

} // namespace

nlohmann::json expertCountsJson(const ExpertCounts &counts) {
  nlohmann::json json = nlohmann::json::object();
  for (const auto &[layer, list] : counts)
    json[std::to_string(layer)] = list;
  return json;
}

void printTokensPerExpert(std::ostream &out, const ExpertCounts &counts) {
  for (const auto &[layer, list] : counts) {
    out << "Tokens per expert, layer " << layer << ":";
    for (int64_t count : list)
      out << " " << count;
    out << "\n";
  }
}

Trainer::Trainer(cpu::Executor &executor, const data::Sampler *train,
                 const data::Sampler &valid, TrainOptions options,
                 uint64_t seed)
    : executor(executor), plan(executor.plan()), trainSamples(train),
      validSamples(valid), options(std::move(options)) {
  trainer.seed = seed;
}

void Trainer::setInput(const std::string &name, int64_t value) {
  if (auto it = plan.inputs.find(name); it != plan.inputs.end())
    *executor.dataAs<int64_t>(it->second) = value;
}

void Trainer::fillBatch(const data::Sampler &samples, int64_t first) {
  int64_t seq = plan.model.seqLength, batch = plan.model.microBatchSize;
  int32_t *tokens = executor.dataAs<int32_t>(plan.inputs.at("tokens"));
  int32_t *labels = executor.dataAs<int32_t>(plan.inputs.at("labels"));
  std::vector<int32_t> sample(seq + 1);
  for (int64_t b = 0; b < batch; ++b) {
    samples.sample(first + b, sample.data());
    for (int64_t s = 0; s < seq; ++s) {
      tokens[s * batch + b] = sample[s];
      labels[s * batch + b] = sample[s + 1];
    }
  }
  if (auto it = plan.inputs.find("positions"); it != plan.inputs.end())
    for (int64_t t = 0; t < seq * batch; ++t)
      executor.dataAs<int32_t>(it->second)[t] = static_cast<int32_t>(t / batch);
}

float Trainer::result(const std::string &program, const std::string &name) {
  const Program *p = plan.program(program);
  auto it = p->results.find(name);
  return it == p->results.end() ? 0.0f : *executor.dataAs<float>(it->second);
}

void Trainer::countTokens(const std::string &program, ExpertCounts &counts) {
  for (const ExpertLoadInfo &load : plan.program(program)->expertLoad) {
    std::vector<int64_t> &layer = counts[load.layer];
    layer.resize(plan.model.numExperts, 0);
    const int32_t *ids = executor.dataAs<int32_t>(load.indices);
    const uint8_t *keep =
        load.keep >= 0 ? executor.dataAs<uint8_t>(load.keep) : nullptr;
    int64_t n = plan.tensors[load.indices].numElements();
    for (int64_t p = 0; p < n; ++p)
      if ((!keep || keep[p]) && ids[p] >= 0 &&
          ids[p] < static_cast<int32_t>(layer.size()))
        ++layer[ids[p]];
  }
}

StatusOr<EvalResult> Trainer::evaluate(int64_t iters) {
  EvalResult eval;
  setInput("jitter_seed", static_cast<int64_t>(trainer.seed));
  for (int64_t i = 0; i < iters; ++i) {
    fillBatch(validSamples, i * plan.model.microBatchSize);
    auto start = std::chrono::steady_clock::now();
    MOERT_RETURN_IF_ERROR(executor.run("forward"));
    eval.secondsPerMicroBatch += secondsSince(start);
    eval.lmLoss += result("forward", "lm_loss");
    eval.auxLoss += result("forward", "aux_loss");
    eval.zLoss += result("forward", "z_loss");
    countTokens("forward", eval.tokensPerExpert);
  }
  for (double *value :
       {&eval.lmLoss, &eval.auxLoss, &eval.zLoss, &eval.secondsPerMicroBatch})
    *value /= iters;
  return eval;
}

Status Trainer::restore(const std::string &iterationDir, bool loadOptimizer,
                        bool loadRng) {
  TrainerState loaded;
  MOERT_RETURN_IF_ERROR(
      loadCheckpoint(executor, iterationDir, loadOptimizer, loaded));
  if (!loadRng)
    loaded.seed = trainer.seed;
  trainer = loaded;
  return Status();
}

Status Trainer::step(StepRecord &record) {
  for (const auto &[name, index] : plan.states)
    if (name.rfind("grad.", 0) == 0)
      std::memset(executor.data(index), 0, plan.tensors[index].numBytes());
  int64_t batch = plan.model.microBatchSize;
  for (int64_t m = 0; m < options.microBatches; ++m) {
    fillBatch(*trainSamples, trainer.consumedSamples + m * batch);
    setInput("jitter_seed",
             static_cast<int64_t>(splitMix64(
                 trainer.seed ^
                 splitMix64(trainer.iteration * options.microBatches + m))));
    MOERT_RETURN_IF_ERROR(executor.run("forward_backward"));
    if (options.afterMicroBatch)
      MOERT_RETURN_IF_ERROR(options.afterMicroBatch());
    double share = 1.0 / options.microBatches;
    record.lmLoss += share * result("forward_backward", "lm_loss");
    record.auxLoss += share * result("forward_backward", "aux_loss");
    record.zLoss += share * result("forward_backward", "z_loss");
    countTokens("forward_backward", record.tokensPerExpert);
  }
  setInput("step", trainer.iteration + 1);
  setInput("train_iters", options.trainIters);
  MOERT_RETURN_IF_ERROR(executor.run("optimizer_step"));
  record.lr = result("optimizer_step", "lr");
  record.gradNorm = result("optimizer_step", "grad_norm");
  ++trainer.iteration;
  trainer.consumedSamples += options.microBatches * batch;
  return Status();
}

Status Trainer::appendMetrics(const nlohmann::json &row) {
  if (options.metricsJsonl.empty())
    return Status();
  std::ofstream file(options.metricsJsonl, std::ios::app);
  file << row.dump() << "\n";
  if (!file)
    return Status::error(options.metricsJsonl + ": cannot write");
  return Status();
}

Status Trainer::log(std::ostream &out, StepRecord record, int64_t steps) {
  for (double *value : {&record.lmLoss, &record.auxLoss, &record.zLoss,
                        &record.gradNorm, &record.secondsPerStep})
    *value /= steps;
  record.step = trainer.iteration;
  char line[160];
  std::snprintf(line, sizeof(line),
                "Step %lld | Loss: %.4f | Aux Loss: %.4f | LR: %.2e",
                static_cast<long long>(record.step), record.lmLoss,
                record.auxLoss, record.lr);
  out << line << "\n";
  if (options.perLayerLogging)
    printTokensPerExpert(out, record.tokensPerExpert);
  out.flush();
  MOERT_RETURN_IF_ERROR(appendMetrics(
      {{"step", record.step},
       {"lm_loss", record.lmLoss},
       {"aux_loss", record.auxLoss},
       {"z_loss", record.zLoss},
       {"lr", record.lr},
       {"grad_norm", record.gradNorm},
       {"seconds_per_step", record.secondsPerStep},
       {"tokens_per_expert", expertCountsJson(record.tokensPerExpert)}}));
  if (tensorboard) {
    tensorboard->scalar("lm loss", record.lmLoss, record.step);
    tensorboard->scalar("load_balancing_loss", record.auxLoss, record.step);
    tensorboard->scalar("z_loss", record.zLoss, record.step);
    tensorboard->scalar("learning-rate", record.lr, record.step);
    tensorboard->scalar("grad-norm", record.gradNorm, record.step);
    for (const auto &[layer, list] : record.tokensPerExpert)
      for (size_t e = 0; e < list.size(); ++e)
        tensorboard->scalar("tokens_per_expert/layer_" + std::to_string(layer) +
                                "/expert_" + std::to_string(e),
                            static_cast<double>(list[e]), record.step);
    MOERT_RETURN_IF_ERROR(tensorboard->flush());
  }
  logged.push_back(std::move(record));
  return Status();
}

Status Trainer::validate(std::ostream &out) {
  StatusOr<EvalResult> eval = evaluate(options.evalIters);
  if (!eval.ok())
    return eval.status();
  char line[160];
  std::snprintf(line, sizeof(line),
                "Validation | Step %lld | Loss: %.4f | Aux Loss: %.4f | "
                "Z Loss: %.4f",
                static_cast<long long>(trainer.iteration), eval->lmLoss,
                eval->auxLoss, eval->zLoss);
  out << line << "\n";
  validated.emplace_back(trainer.iteration, eval->lmLoss);
  MOERT_RETURN_IF_ERROR(appendMetrics({{"step", trainer.iteration},
                                       {"validation_lm_loss", eval->lmLoss},
                                       {"validation_aux_loss", eval->auxLoss},
                                       {"validation_z_loss", eval->zLoss}}));
  if (tensorboard) {
    tensorboard->scalar("lm loss validation", eval->lmLoss, trainer.iteration);
    MOERT_RETURN_IF_ERROR(tensorboard->flush());
  }
  return Status();
}

Status Trainer::checkScheduleLength() const {
  for (const OpInfo &op : plan.program("optimizer_step")->ops) {
    // A decay with the run's length as its input (style 0 is constant).
    if (op.kernel != "nn.lr_schedule" || op.inputs.size() < 2 ||
        op.intAttrs.at("style") == 0)
      continue;
    int64_t warmup = op.intAttrs.at("warmup_iters");
    if (options.trainIters <= warmup)
      return Status::error(
          "the learning rate warms up over " + std::to_string(warmup) +
          " iterations and then decays until the last of the run's " +
          std::to_string(options.trainIters) +
          " (--train-iters); train longer than the warmup, or stop early "
          "with --exit-interval");
  }
  return Status();
}

Status Trainer::train(std::ostream &out) {
  if (!trainSamples)
    return Status::error("no training data");
  for (const char *program : {"forward_backward", "optimizer_step"})
    if (!plan.program(program))
      return Status::error(std::string("the plan has no '") + program +
                           "' program; recompile it with moe-compile");
  MOERT_RETURN_IF_ERROR(checkScheduleLength());
  if (!options.tensorboardDir.empty()) {
    StatusOr<TensorBoardWriter> writer =
        TensorBoardWriter::open(options.tensorboardDir);
    if (!writer.ok())
      return writer.status();
    tensorboard.emplace(std::move(*writer));
  }
  if (!options.metricsJsonl.empty()) {
    std::filesystem::path parent =
        std::filesystem::path(options.metricsJsonl).parent_path();
    std::error_code error;
    if (!parent.empty())
      std::filesystem::create_directories(parent, error);
    // A fresh run starts the file; a resumed one appends to it.
    std::ofstream file(options.metricsJsonl, trainer.iteration == 0
                                                 ? std::ios::trunc
                                                 : std::ios::app);
    if (!file)
      return Status::error(options.metricsJsonl + ": cannot write");
  }

  StepRecord interval;
  int64_t inInterval = 0;
  auto trainStart = std::chrono::steady_clock::now();
  int64_t firstStep = trainer.iteration;
  while (trainer.iteration < options.trainIters) {
    auto start = std::chrono::steady_clock::now();
    StepRecord current;
    MOERT_RETURN_IF_ERROR(step(current));
    current.secondsPerStep = secondsSince(start);
    current.step = trainer.iteration;
    if (options.afterStep)
      MOERT_RETURN_IF_ERROR(options.afterStep(current));
    interval.lmLoss += current.lmLoss;
    interval.auxLoss += current.auxLoss;
    interval.zLoss += current.zLoss;
    interval.gradNorm += current.gradNorm;
    interval.secondsPerStep += current.secondsPerStep;
    interval.lr = current.lr;
    addCounts(interval.tokensPerExpert, current.tokensPerExpert);
    ++inInterval;
    if (options.progressBar) {
      int64_t done = trainer.iteration, width = 30;
      int64_t filled = done * width / options.trainIters;
      double elapsed = secondsSince(trainStart);
      double eta = elapsed / (done - firstStep) * (options.trainIters - done);
      std::fprintf(stderr, "\r[%s%s] %lld/%lld  %.0fs left ",
                   std::string(filled, '=').c_str(),
                   std::string(width - filled, ' ').c_str(),
                   static_cast<long long>(done),
                   static_cast<long long>(options.trainIters), eta);
      std::fflush(stderr);
    }
    // Megatron's --exit-interval: the run ends early, as if at its end.
    bool last = trainer.iteration == options.trainIters ||
                (options.exitInterval > 0 &&
                 trainer.iteration % options.exitInterval == 0);
    if (trainer.iteration % options.logInterval == 0 || last) {
      if (options.progressBar)
        std::fprintf(stderr, "\r\033[K");
      MOERT_RETURN_IF_ERROR(log(out, interval, inInterval));
      interval = StepRecord();
      inInterval = 0;
    }
    if (options.evalInterval > 0 &&
        (trainer.iteration % options.evalInterval == 0 || last))
      MOERT_RETURN_IF_ERROR(validate(out));
    bool periodic = options.saveInterval > 0 &&
                    trainer.iteration % options.saveInterval == 0;
    if (!options.save.empty() && (periodic || last)) {
      MOERT_RETURN_IF_ERROR(saveCheckpoint(executor, options.save, trainer));
      out << "Saved checkpoint at step " << trainer.iteration << " to "
          << options.save << "\n";
    }
    if (last)
      break;
  }
  return Status();
}

} // namespace moert
