//===- moe-run.cpp - runs a compiled plan ---------------------------------===//
//
//   moe-compile examples/tiny.yaml --emit=plan -o tiny.plan
//   moe-run tiny.plan --train-iters 300 --save ckpt      # trains
//   moe-run tiny.plan --eval-iters 4                     # evaluates
//
// loads and verifies the plan, creates a device for it, initialises the
// parameters from the seed (or loads them from safetensors or a checkpoint),
// reads micro-batches from a Megatron indexed dataset and trains (logging
// loss, aux loss, learning rate and tokens per expert, evaluating, saving
// checkpoints) or evaluates. SIGINT, SIGTERM or SIGUSR1 (under mpirun,
// SIGUSR1) stops training after the current step, saving a checkpoint when
// --save is set, and exits with 128 + the signal; a second one ends it at
// once.
//
//===----------------------------------------------------------------------===//

#include "moert/Checkpoint.h"
#include "moert/Communicator.h"
#include "moert/Data.h"
#include "moert/Device.h"
#include "moert/Plan.h"
#include "moert/PlanNames.h"
#include "moert/SplitMix.h"
#include "moert/Trainer.h"
#include "moert/Weights.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ostream.h>
#include <nlohmann/json.hpp>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <iterator>
#include <omp.h>
#include <optional>
#include <unistd.h>

using namespace moert;

namespace {

//===----------------------------------------------------------------------===//
// Signals
//===----------------------------------------------------------------------===//

volatile std::sig_atomic_t stopRequest = 0;
/// The signal training stopped for, or 0.
int stoppedBy = 0;

void requestStop(int signal) { stopRequest = signal; }

/// SIGINT, SIGTERM and SIGUSR1 ask the trainer to stop after the current
/// step; the handler resets itself, so that a second signal ends the
/// process at once. Under mpirun only SIGUSR1 does: mpirun ends the job
/// itself on SIGINT and SIGTERM (and forwards SIGUSR1), and the SIGTERM it
/// sends the ranks when one fails must end them at once.
void installStopHandlers() {
  struct sigaction action = {};
  action.sa_handler = requestStop;
  action.sa_flags = SA_RESETHAND | SA_RESTART;
  sigemptyset(&action.sa_mask);
  sigaction(SIGUSR1, &action, nullptr);
  if (launchedByMpi())
    return;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

const char *signalName(int signal) {
  return signal == SIGINT    ? "SIGINT"
         : signal == SIGTERM ? "SIGTERM"
         : signal == SIGUSR1 ? "SIGUSR1"
                             : "a signal";
}

//===----------------------------------------------------------------------===//
// Options
//===----------------------------------------------------------------------===//

/// The command line as given; absent options fall back to the plan's
/// training settings.
struct Options {
  std::string plan;
  std::string device = "auto";
  std::string data;
  std::string split;
  std::string load;
  std::string saveWeights;
  std::string metricsJson;
  std::string dump;
  bool dumpActivations = false;
  std::optional<int64_t> evalIters;
  std::optional<uint64_t> seed;
  // Training.
  std::optional<int64_t> trainIters, exitInterval, logInterval, evalInterval,
      saveInterval;
  std::string save, metricsJsonl, tensorboardDir, plot;
  bool noLoadOptim = false, noLoadRng = false, resume = false;
  bool noNonFiniteCheck = false, skipNonFinite = false;
};

void addOptions(CLI::App &app, Options &o) {
  app.add_option("plan", o.plan, "the plan file, or - for stdin")->required();
  std::vector<std::string> devices = {"auto"};
  for (const Backend &backend : backends())
    devices.push_back(backend.name);
  app.add_option("--device", o.device,
                 "where to run: auto (the first backend that can run here) "
                 "or a backend of this build")
      ->check(CLI::IsMember(devices));
  app.add_option("--data", o.data,
                 "Megatron dataset prefix (<prefix>.bin/.idx); default: the "
                 "description's data path");
  app.add_option("--split", o.split,
                 "train,valid,test weights (default: the description's)");
  app.add_option("--seed", o.seed, "initialisation and sampling seed");
  app.add_option("--train-iters", o.trainIters,
                 "optimizer steps to train to (a resumed run continues to "
                 "it), which a decaying learning rate spans unless the "
                 "description sets lr_decay_iters; without it (or with 0) "
                 "the plan is evaluated")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--exit-interval", o.exitInterval,
                 "stop after the first step that is a multiple of this, as "
                 "at the end of the run (log, validate, save); the learning "
                 "rate still follows --train-iters")
      ->check(CLI::PositiveNumber);
  app.add_option("--log-interval", o.logInterval, "steps between log lines")
      ->check(CLI::PositiveNumber);
  app.add_option("--eval-interval", o.evalInterval,
                 "steps between validations while training")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--eval-iters", o.evalIters,
                 "validation micro-batches per evaluation")
      ->check(CLI::PositiveNumber);
  app.add_option("--save", o.save, "checkpoint directory to save to");
  app.add_option("--save-interval", o.saveInterval,
                 "steps between checkpoints (and one at the end)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--load", o.load,
                 "a checkpoint directory to resume from, or a safetensors "
                 "file of parameters");
  app.add_flag("--no-check-for-nan-in-loss-and-grad", o.noNonFiniteCheck,
               "do not check the losses and gradients for NaN and Inf "
               "before each update");
  app.add_flag("--skip-nonfinite-steps", o.skipNonFinite,
               "skip (and count) the update of a step with a NaN or Inf "
               "instead of stopping the run")
      ->excludes("--no-check-for-nan-in-loss-and-grad");
  app.add_flag("--resume", o.resume,
               "resume from the latest checkpoint in --save, if any");
  app.add_flag("--no-load-optim", o.noLoadOptim,
               "do not restore the optimizer moments from --load");
  app.add_flag("--no-load-rng", o.noLoadRng,
               "do not restore the data order and jitter seed from --load");
  app.add_option("--metrics-jsonl", o.metricsJsonl,
                 "append every logged step as a JSON line");
  app.add_option("--tensorboard-dir", o.tensorboardDir,
                 "write TensorBoard event files here");
  app.add_option("--plot", o.plot,
                 "draw the loss and expert load to this PNG at the end, with "
                 "matplotlib (default: <save>/training.png)");
  app.add_option("--save-weights", o.saveWeights,
                 "write the parameters to safetensors at the end");
  app.add_option("--metrics-json", o.metricsJson,
                 "write the evaluated metrics as JSON");
  app.add_option("--dump", o.dump,
                 "write the model description, batches, parameters, "
                 "gradients and metrics to a directory (for oracles)");
  app.add_flag("--dump-activations", o.dumpActivations,
               "with --dump, also write every named activation of the "
               "forward pass on the first validation micro-batch "
               "(activations.safetensors)");
}

/// What this run does: the options resolved against the plan's training
/// settings.
struct Settings {
  bool training = false;
  uint64_t seed = 0;
  std::string data, split, save, metricsJsonl, tensorboardDir, plot;
  bool perLayerLogging = false;
  TrainOptions train;
};

StatusOr<Settings> resolve(const Options &o, const Plan &plan) {
  const TrainingInfo &t = plan.training;
  Settings s;
  s.train.trainIters = o.trainIters.value_or(0);
  s.training = s.train.trainIters > 0;
  if (o.dumpActivations && (o.dump.empty() || s.training))
    return Status::error("--dump-activations goes with --dump and evaluation "
                         "(no --train-iters)");
  s.seed = o.seed.value_or(plan.model.seed);
  s.data = !o.data.empty()       ? o.data
           : !t.dataPath.empty() ? t.dataPath.front()
                                 : std::string();
  if (s.data.empty())
    return Status::error("no dataset: give --data <prefix> (see "
                         "moe-preprocess)");
  s.split = !o.split.empty()   ? o.split
            : !t.split.empty() ? t.split
                               : "969,30,1";
  if (t.globalBatchSize !=
      t.microBatchSize * t.microBatches * t.dataParallelSize)
    return Status::error(fmt::format(
        "the plan takes a global batch of {} sequences, but {} micro-batch{} "
        "of {} on each of its {} data-parallel rank{} make{} {}",
        t.globalBatchSize, t.microBatches, t.microBatches == 1 ? "" : "es",
        t.microBatchSize, t.dataParallelSize,
        t.dataParallelSize == 1 ? "" : "s", t.microBatches == 1 ? "s" : "",
        t.microBatches * t.microBatchSize * t.dataParallelSize));
  TrainOptions &train = s.train;
  train.exitInterval = o.exitInterval.value_or(0);
  train.microBatches = t.microBatches;
  train.logInterval =
      o.logInterval.value_or(std::max<int64_t>(1, t.logInterval));
  train.evalInterval = o.evalInterval.value_or(t.evalInterval);
  train.evalIters =
      o.evalIters.value_or(s.training ? std::max<int64_t>(1, t.evalIters) : 10);
  train.saveInterval = o.saveInterval.value_or(t.saveInterval);
  train.checkNonFinite = !o.noNonFiniteCheck;
  train.skipNonFinite = o.skipNonFinite;
  s.save = !o.save.empty() ? o.save : t.save;
  if (s.training) {
    train.save = s.save;
    s.tensorboardDir =
        !o.tensorboardDir.empty() ? o.tensorboardDir : t.tensorboardDir;
    s.plot = !o.plot.empty()   ? o.plot
             : !s.save.empty() ? s.save + "/training.png"
                               : std::string();
  }
  s.metricsJsonl = o.metricsJsonl;
  s.perLayerLogging = t.perLayerLogging;
  return s;
}

//===----------------------------------------------------------------------===//
// Plan, data and weights
//===----------------------------------------------------------------------===//

StatusOr<Plan> readPlan(const std::string &path) {
  if (path != "-")
    return loadPlan(path);
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(std::cin)),
                             std::istreambuf_iterator<char>());
  return parsePlan(bytes, "<stdin>");
}

/// The dataset and the samplers of its training and validation splits.
struct Data {
  std::unique_ptr<data::IndexedDataset> dataset;
  std::optional<data::Sampler> train, valid;
};

StatusOr<Data> openData(const Settings &s, const Plan &plan) {
  Data d;
  StatusOr<data::IndexedDataset> dataset = data::IndexedDataset::open(s.data);
  if (!dataset.ok())
    return dataset.status();
  d.dataset = std::make_unique<data::IndexedDataset>(std::move(*dataset));
  auto ranges = data::splitDocuments(s.split, d.dataset->numDocuments());
  if (!ranges.ok())
    return ranges.status();
  auto samplerOf = [&](int split, const char *what,
                       std::optional<data::Sampler> &into) {
    data::Sampler sampler(*d.dataset, (*ranges)[split], plan.training.seqLength,
                          s.seed);
    if (sampler.numSamples() == 0)
      return Status::error(fmt::format(
          "the {} split (documents {} to {} of {}) holds no sample of {} "
          "tokens; give --split a larger {} share",
          what, (*ranges)[split].first, (*ranges)[split].second,
          d.dataset->numDocuments(), plan.training.seqLength + 1, what));
    into.emplace(std::move(sampler));
    return Status();
  };
  // Training without validation (--eval-interval 0), as Megatron allows,
  // needs no validation split.
  if (!s.training || s.train.evalInterval > 0)
    MOERT_RETURN_IF_ERROR(samplerOf(1, "validation", d.valid));
  if (s.training)
    MOERT_RETURN_IF_ERROR(samplerOf(0, "training", d.train));
  return d;
}

/// Initialises the parameters, then loads --load's safetensors file; returns
/// the checkpoint to resume from (--load's directory, or --save's latest
/// with --resume), if any.
StatusOr<std::string> initializeWeights(Device &device, const Options &o,
                                        const Settings &s) {
  std::string resumeFrom;
  if (!o.load.empty() && std::filesystem::is_directory(o.load)) {
    StatusOr<std::string> latest = latestCheckpoint(o.load);
    if (!latest.ok())
      return latest.status();
    if (latest->empty())
      return Status::error(
          o.load +
          ": holds no checkpoint (no latest_checkpointed_iteration.txt)");
    resumeFrom = *latest;
  } else if (o.resume && !s.save.empty()) {
    StatusOr<std::string> latest = latestCheckpoint(s.save);
    if (!latest.ok())
      return latest.status();
    resumeFrom = *latest;
  }
  MOERT_RETURN_IF_ERROR(initializeParameters(device, s.seed));
  if (resumeFrom.empty() && !o.load.empty())
    MOERT_RETURN_IF_ERROR(loadSafetensors(device, o.load));
  return resumeFrom;
}

Status writeJson(const std::string &path, const nlohmann::json &value) {
  std::ofstream file(path);
  file << value.dump(1) << "\n";
  if (!file)
    return Status::error(path + ": cannot write");
  return Status();
}

//===----------------------------------------------------------------------===//
// The oracle dump
//===----------------------------------------------------------------------===//

/// What test/oracle replays in PyTorch: the description, the weights, the
/// batches, the first step's gradients, every step's numbers, and with
/// --dump-activations every named activation of a forward pass.
class OracleDump final : public MetricsSink {
public:
  OracleDump(Device &device, std::string directory)
      : device(device), plan(device.plan()), directory(std::move(directory)) {}

  /// The resolved description, with the schedule's length when training:
  /// a decay without lr_decay_iters spans this run.
  Status begin(int64_t trainIters) {
    nlohmann::json config =
        nlohmann::json::parse(plan.model.configJson, nullptr, false);
    if (!config.is_object())
      config = nlohmann::json::object();
    if (trainIters > 0)
      config["train_iters"] = trainIters;
    std::error_code error;
    std::filesystem::create_directories(directory, error);
    if (error)
      return Status::error(directory + ": cannot create: " + error.message());
    return writeJson(directory + "/config.json", config);
  }

  Status saveWeights() {
    return saveSafetensors(device, directory + "/weights.safetensors");
  }

  /// The tokens and labels on the device now.
  StatusOr<nlohmann::json> batch() {
    StatusOr<std::vector<int32_t>> tokens =
        device.read<int32_t>(plan.input(names::tokens));
    if (!tokens.ok())
      return tokens.status();
    StatusOr<std::vector<int32_t>> labels =
        device.read<int32_t>(plan.input(names::labels));
    if (!labels.ok())
      return labels.status();
    return nlohmann::json{{"tokens", *tokens}, {"labels", *labels}};
  }

  Status afterMicroBatch() {
    StatusOr<nlohmann::json> current = batch();
    if (!current.ok())
      return current.status();
    batches.push_back(std::move(*current));
    return Status();
  }

  Status onStep(const StepRecord &record) override {
    if (record.step == 1) {
      NamedTensors grads;
      for (const ParameterInfo &p : plan.parameters)
        grads.emplace_back(
            p.name, plan.states.find(names::gradPrefix + p.name)->second);
      MOERT_RETURN_IF_ERROR(
          saveSafetensors(device, directory + "/grads.safetensors", grads));
    }
    steps.push_back({{"step", record.step},
                     {"lm_loss", record.lmLoss},
                     {"aux_loss", record.auxLoss},
                     {"z_loss", record.zLoss},
                     {"lr", record.lr},
                     {"grad_norm", record.gradNorm},
                     {"micro_batches", batches}});
    batches = nlohmann::json::array();
    return Status();
  }

  /// The steps, and the weights after the last one.
  Status end() override {
    MOERT_RETURN_IF_ERROR(
        saveSafetensors(device, directory + "/final_weights.safetensors"));
    return writeJson(directory + "/steps.json", steps);
  }

  /// The evaluation dump: the batch, the activations when asked, the metrics
  /// of one micro-batch and the weights.
  Status evaluation(Trainer &trainer, const data::Sampler &valid,
                    bool activations) {
    MOERT_RETURN_IF_ERROR(trainer.fillBatch(valid, 0));
    StatusOr<nlohmann::json> first = batch();
    if (!first.ok())
      return first.status();
    MOERT_RETURN_IF_ERROR(writeJson(directory + "/batch.json", *first));
    if (activations)
      MOERT_RETURN_IF_ERROR(
          dumpActivations(directory + "/activations.safetensors"));
    StatusOr<EvalResult> eval = trainer.evaluate(1);
    if (!eval.ok())
      return eval.status();
    MOERT_RETURN_IF_ERROR(writeJson(
        directory + "/metrics.json",
        {{"lm_loss", eval->lmLoss},
         {"aux_loss", eval->auxLoss},
         {"z_loss", eval->zLoss},
         {"tokens_per_expert", expertCountsJson(eval->tokensPerExpert)},
         {"dropped_tokens", droppedCountsJson(eval->droppedTokens)}}));
    return saveWeights();
  }

private:
  /// Runs the forward program on the batch in place and writes each
  /// activation the compiler named after a module path ("model.layers.0.
  /// block_sparse_moe.gate"), copied as its op finishes: the arena reuses
  /// the memory later.
  Status dumpActivations(const std::string &path) {
    std::deque<std::vector<uint8_t>> copies;
    std::vector<SafetensorsEntry> entries;
    MOERT_RETURN_IF_ERROR(
        device.run(names::forward, [&](size_t, const OpInfo &op) -> Status {
          for (int index : op.outputs) {
            const TensorInfo &t = plan.tensors[index];
            if (t.kind != TensorKind::Activation ||
                t.name.find('#') != std::string::npos)
              continue;
            StatusOr<std::vector<uint8_t>> bytes = device.read<uint8_t>(index);
            if (!bytes.ok())
              return bytes.status();
            copies.push_back(std::move(*bytes));
            entries.push_back({t.name, t.dtype, t.shape, copies.back().data()});
          }
          return Status();
        }));
    return writeSafetensors(path, entries);
  }

  Device &device;
  const Plan &plan;
  std::string directory;
  nlohmann::json steps = nlohmann::json::array();
  nlohmann::json batches = nlohmann::json::array(); // of the current step
};

//===----------------------------------------------------------------------===//
// Training and evaluation
//===----------------------------------------------------------------------===//

void printPlanSummary(const Plan &plan, const data::Sampler *valid) {
  int64_t parameters = 0, local = 0;
  for (const ParameterInfo &p : plan.parameters) {
    const TensorInfo &t = plan.tensors[p.tensor];
    parameters += t.numElements() * t.shards;
    local += t.numElements();
  }
  fmt::print("Plan:");
  for (const Program &program : plan.programs)
    fmt::print(" {} {} ops,", program.name, program.ops.size());
  fmt::print(" {} parameters", parameters);
  if (local != parameters)
    fmt::print(" ({} on each rank)", local);
  // The AdamW moments: what the distributed optimizer shares out.
  int64_t moments = 0;
  for (const auto &[name, index] : plan.states)
    if (name.rfind(names::expAvgPrefix, 0) == 0 ||
        name.rfind(names::expAvgSqPrefix, 0) == 0)
      moments += plan.tensors[index].numBytes();
  fmt::print(", AdamW state {} bytes, arena {} bytes; ", moments,
             plan.arenaBytes);
  if (valid)
    fmt::print("{} validation samples of {} tokens\n", valid->numSamples(),
               plan.training.seqLength);
  else
    fmt::print("no validation\n");
}

Status train(Trainer &trainer, Device &device, const Options &o,
             const Settings &s, const Data &data,
             std::unique_ptr<OracleDump> dump) {
  const Plan &plan = device.plan();
  const TrainOptions &t = s.train;
  fmt::print("Training {} steps of {} micro-batch{} of {} x {} tokens",
             t.trainIters, t.microBatches, t.microBatches == 1 ? "" : "es",
             plan.training.microBatchSize, plan.training.seqLength);
  if (plan.training.worldSize > 1)
    fmt::print(" on each of {} ranks (expert parallelism {})",
               plan.training.worldSize, plan.training.expertParallelSize);
  fmt::print("; {} training samples", data.train->numSamples());
  int64_t from = trainer.state().iteration;
  if (t.exitInterval > 0 &&
      (from / t.exitInterval + 1) * t.exitInterval < t.trainIters)
    fmt::print("; exiting after step {}",
               (from / t.exitInterval + 1) * t.exitInterval);
  fmt::print("\n");
  std::cout.flush();
  // The progress bar first: it clears its line before the others print.
  // Every rank holds the same global numbers; rank 0 records them.
  if (device.communicator().rank() == 0) {
    if (::isatty(STDERR_FILENO))
      trainer.addSink(progressBar(stderr));
    trainer.addSink(terminalLog(std::cout, s.perLayerLogging));
    if (!s.metricsJsonl.empty())
      trainer.addSink(jsonlMetrics(s.metricsJsonl));
    if (!s.tensorboardDir.empty())
      trainer.addSink(tensorBoardMetrics(s.tensorboardDir));
    if (!s.plot.empty())
      trainer.addSink(trainingPlot(s.plot, s.metricsJsonl, std::cout));
  }
  if (dump) {
    MOERT_RETURN_IF_ERROR(dump->saveWeights());
    trainer.addSink(std::move(dump));
  }
  MOERT_RETURN_IF_ERROR(trainer.train());
  if (trainer.stepsSkipped() > 0)
    fmt::print("Skipped the updates of {} iteration{} with NaN or Inf\n",
               trainer.stepsSkipped(), trainer.stepsSkipped() == 1 ? "" : "s");
  if (trainer.stoppedBy() != 0) {
    stoppedBy = trainer.stoppedBy();
    fmt::print("Stopped by {} after iteration {}{}\n", signalName(stoppedBy),
               trainer.state().iteration,
               s.save.empty() ? " (no --save: nothing saved)" : "");
  }
  if (device.communicator().worldSize() > 1 && trainer.stepsTaken() > 0) {
    const CommTraffic &sent = trainer.stepTraffic();
    double perStep = 1.0 / (1 << 20) / trainer.stepsTaken();
    fmt::print("Sent by rank 0 per step: all-to-all {:.3f} MiB, all-gather "
               "{:.3f} MiB, reduce-scatter {:.3f} MiB, all-reduce {:.3f} "
               "MiB\n",
               sent.allToAll * perStep, sent.allGather * perStep,
               sent.reduceScatter * perStep, sent.allReduce * perStep);
  }
  if (!o.saveWeights.empty())
    MOERT_RETURN_IF_ERROR(saveSafetensors(device, o.saveWeights));
  return Status();
}

Status evaluate(Trainer &trainer, Device &device, const Options &o,
                const Settings &s, const Data &data, OracleDump *dump) {
  const Plan &plan = device.plan();
  if (dump)
    MOERT_RETURN_IF_ERROR(
        dump->evaluation(trainer, *data.valid, o.dumpActivations));
  int64_t iters = s.train.evalIters;
  StatusOr<EvalResult> eval = trainer.evaluate(iters);
  if (!eval.ok())
    return eval.status();
  fmt::print("Validation | Loss: {:.4f} | Aux Loss: {:.4f} | Z Loss: {:.4f} | "
             "Micro-batches: {}\n",
             eval->lmLoss, eval->auxLoss, eval->zLoss, iters);
  fmt::print("Forward: {:.3f} ms per micro-batch, {:.2f} us per token\n",
             eval->secondsPerMicroBatch * 1e3,
             eval->secondsPerMicroBatch * 1e6 /
                 plan.training.tokensPerMicroBatch());
  std::cout.flush();
  printTokensPerExpert(std::cout, eval->tokensPerExpert, eval->droppedTokens);
  if (!o.metricsJson.empty() && device.communicator().rank() == 0)
    MOERT_RETURN_IF_ERROR(writeJson(
        o.metricsJson,
        {{"lm_loss", eval->lmLoss},
         {"aux_loss", eval->auxLoss},
         {"z_loss", eval->zLoss},
         {"eval_iters", iters},
         {"forward_seconds", eval->secondsPerMicroBatch},
         {"tokens_per_expert", expertCountsJson(eval->tokensPerExpert)},
         {"dropped_tokens", droppedCountsJson(eval->droppedTokens)}}));
  if (!o.saveWeights.empty())
    MOERT_RETURN_IF_ERROR(saveSafetensors(device, o.saveWeights));
  return Status();
}

/// The communicator of this launch: MPI under mpirun, else one process. The
/// launch must have the plan's world and every rank the same plan.
StatusOr<std::unique_ptr<Communicator>> connect(const Plan &plan) {
  const TrainingInfo &t = plan.training;
  std::unique_ptr<Communicator> comm;
  if (launchedByMpi()) {
    StatusOr<std::unique_ptr<Communicator>> mpi =
        createMpiCommunicator(static_cast<int>(t.expertParallelSize));
    if (!mpi.ok())
      return mpi.status();
    comm = std::move(*mpi);
    // As torchrun does: ranks sharing a machine share its cores, unless
    // OMP_NUM_THREADS says otherwise.
    const char *local = std::getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
    if (!std::getenv("OMP_NUM_THREADS") && local && std::atoi(local) > 0)
      omp_set_num_threads(std::max(1, omp_get_num_procs() / std::atoi(local)));
  } else {
    comm = createLocalCommunicator();
  }
  if (comm->worldSize() != t.worldSize)
    return Status::error(fmt::format(
        "the plan was compiled for {} rank{} (moe-compile --world-size) with "
        "expert parallelism {}, but this launch has {}; start it with mpirun "
        "-np {} moe-run ...",
        t.worldSize, t.worldSize == 1 ? "" : "s", t.expertParallelSize,
        comm->worldSize(), t.worldSize));
  std::vector<uint64_t> digests(comm->worldSize());
  MOERT_RETURN_IF_ERROR(comm->allGather(Group::World, &plan.digest,
                                        digests.data(), sizeof(plan.digest)));
  for (int r = 0; r < comm->worldSize(); ++r)
    if (digests[r] != digests[0])
      return Status::error(fmt::format(
          "rank {} runs a different plan from rank 0: every rank must load "
          "the same plan",
          r));
  return comm;
}

Status run(const Options &o, std::unique_ptr<Communicator> &comm) {
  StatusOr<Plan> plan = readPlan(o.plan);
  if (!plan.ok())
    return plan.status();
  StatusOr<std::unique_ptr<Communicator>> connected = connect(*plan);
  if (!connected.ok())
    return connected.status();
  comm = std::move(*connected);
  // Rank 0 speaks for the launch; the others report only their errors.
  if (comm->rank() != 0 && !std::freopen("/dev/null", "w", stdout))
    return Status::error("cannot silence the standard output of rank " +
                         std::to_string(comm->rank()));
  if (comm->worldSize() > 1 && !o.dump.empty())
    return Status::error("--dump records one process; run it without "
                         "mpirun");
  StatusOr<std::unique_ptr<Device>> created =
      createDevice(o.device, *plan, *comm);
  if (!created.ok())
    return created.status().within(o.plan == "-" ? "<stdin>" : o.plan);
  Device &device = **created;
  for (const char *name : {names::tokens, names::labels})
    if (plan->input(name) < 0)
      return Status::error(fmt::format("the plan has no '{}' input", name));

  StatusOr<Settings> settings = resolve(o, *plan);
  if (!settings.ok())
    return settings.status();
  const Settings &s = *settings;
  std::unique_ptr<OracleDump> dump;
  if (!o.dump.empty()) {
    dump = std::make_unique<OracleDump>(device, o.dump);
    MOERT_RETURN_IF_ERROR(dump->begin(s.train.trainIters));
  }
  OracleDump *dumpRef = dump.get();
  StatusOr<Data> data = openData(s, *plan);
  if (!data.ok())
    return data.status();
  StatusOr<std::string> resumeFrom = initializeWeights(device, o, s);
  if (!resumeFrom.ok())
    return resumeFrom.status();

  if (!s.train.save.empty() && comm->rank() == 0)
    MOERT_RETURN_IF_ERROR(checkCheckpointDirectory(s.train.save));
  TrainOptions options = s.train;
  installStopHandlers();
  options.stopSignal = [] { return static_cast<int>(stopRequest); };
  if (dumpRef && s.training)
    options.afterMicroBatch = [dumpRef] { return dumpRef->afterMicroBatch(); };
  Trainer trainer(device, data->train ? &*data->train : nullptr,
                  data->valid ? &*data->valid : nullptr, options, s.seed);
  if (!resumeFrom->empty()) {
    MOERT_RETURN_IF_ERROR(
        trainer.restore(*resumeFrom, !o.noLoadOptim, !o.noLoadRng));
    fmt::print("Resumed from {} at step {}\n", *resumeFrom,
               trainer.state().iteration);
  }
  printPlanSummary(*plan, data->valid ? &*data->valid : nullptr);
  if (!s.training)
    return evaluate(trainer, device, o, s, *data, dumpRef);
  return train(trainer, device, o, s, *data, std::move(dump));
}

} // namespace

int main(int argc, char **argv) {
  CLI::App app{"moe-run: trains or evaluates a plan compiled by moe-compile"};
  Options options;
  addOptions(app, options);
  CLI11_PARSE(app, argc, argv);
  // Library code reports errors as Status; this catches what the standard
  // library and the JSON parser throw (out of memory, a filesystem error),
  // so that no input ends the tool without a message.
  std::unique_ptr<Communicator> comm;
  std::string error;
  try {
    Status status = run(options, comm);
    if (status.ok())
      return stoppedBy != 0 ? 128 + stoppedBy : 0;
    error = status.message();
  } catch (const std::exception &e) {
    error = e.what();
  }
  std::cout.flush();
  // A failed rank ends the launch: the others would wait for it forever.
  if (comm && comm->worldSize() > 1)
    comm->abort(error);
  fmt::print(stderr, "moe-run: error: {}\n", error);
  return 1;
}
