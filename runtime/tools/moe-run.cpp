//===- moe-run.cpp - runs a compiled plan ---------------------------------===//
//
//   moe-compile examples/tiny.yaml --emit=plan -o tiny.plan
//   moe-run tiny.plan --train-iters 300 --save ckpt      # trains
//   moe-run tiny.plan --eval-iters 4                     # evaluates
//
// loads and verifies the plan, initialises the parameters from the seed (or
// loads them from safetensors or a checkpoint), reads micro-batches from a
// Megatron indexed dataset and trains (logging loss, aux loss, learning rate
// and tokens per expert, evaluating, saving checkpoints) or evaluates.
//
//===----------------------------------------------------------------------===//

#include "moert/Data.h"
#include "moert/Plan.h"
#include "moert/Plot.h"
#include "moert/Trainer.h"
#include "moert/Weights.h"
#include "moert/cpu/Executor.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <unistd.h>

using namespace moert;

namespace {

struct Options {
  std::string plan;
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
};

[[noreturn]] void fail(const std::string &message) {
  std::cerr << "moe-run: error: " << message << "\n";
  std::exit(1);
}

void check(const Status &status) {
  if (!status.ok())
    fail(status.message());
}

Plan readPlan(const std::string &path) {
  if (path != "-") {
    StatusOr<Plan> plan = loadPlan(path);
    check(plan.status());
    return std::move(*plan);
  }
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(std::cin)),
                             std::istreambuf_iterator<char>());
  StatusOr<Plan> plan = parsePlan(bytes, "<stdin>");
  check(plan.status());
  return std::move(*plan);
}

void writeJson(const std::string &path, const nlohmann::json &value) {
  std::ofstream file(path);
  file << value.dump(1) << "\n";
  if (!file)
    fail(path + ": cannot write");
}

/// An integer setting of the resolved description, or `fallback`.
int64_t configInt(const nlohmann::json &config, const char *key,
                  int64_t fallback) {
  return config.contains(key) && config[key].is_number_integer()
             ? config[key].get<int64_t>()
             : fallback;
}

std::string configString(const nlohmann::json &config, const char *key) {
  return config.contains(key) && config[key].is_string()
             ? config[key].get<std::string>()
             : std::string();
}

/// Runs the forward program on the batch in place and writes each
/// activation the compiler named after a module path ("model.layers.0.
/// block_sparse_moe.gate"), copied as its op finishes: the arena reuses the
/// memory later.
Status dumpActivations(cpu::Executor &executor, const std::string &path) {
  const Plan &plan = executor.plan();
  std::deque<std::vector<uint8_t>> copies;
  std::vector<SafetensorsEntry> entries;
  MOERT_RETURN_IF_ERROR(
      executor.run("forward", [&](size_t, const OpInfo &op) -> Status {
        for (int index : op.outputs) {
          const TensorInfo &t = plan.tensors[index];
          if (t.kind != TensorKind::Activation ||
              t.name.find('#') != std::string::npos)
            continue;
          const auto *bytes = executor.dataAs<uint8_t>(index);
          copies.emplace_back(bytes, bytes + t.numBytes());
          entries.push_back({t.name, t.dtype, t.shape, copies.back().data()});
        }
        return Status();
      }));
  return writeSafetensors(path, entries);
}

} // namespace

static int run(int argc, char **argv) {
  CLI::App app{"moe-run: trains or evaluates a plan compiled by moe-compile"};
  Options o;
  app.add_option("plan", o.plan, "the plan file, or - for stdin")->required();
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
                 "draw the loss and expert load to this PNG at the end "
                 "(default: <save>/training.png)");
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
  CLI11_PARSE(app, argc, argv);

  Plan plan = readPlan(o.plan);
  StatusOr<std::unique_ptr<cpu::Executor>> created =
      cpu::Executor::create(plan);
  if (!created.ok())
    fail((o.plan == "-" ? std::string("<stdin>") : o.plan) + ": " +
         created.status().message());
  cpu::Executor &executor = **created;
  for (const char *name : {"tokens", "labels"})
    if (!plan.inputs.count(name))
      fail(std::string("the plan has no '") + name + "' input");

  nlohmann::json config =
      nlohmann::json::parse(plan.model.configJson, nullptr, false);
  if (!config.is_object())
    config = nlohmann::json::object();
  if (o.save.empty())
    o.save = configString(config, "save");
  if (o.tensorboardDir.empty())
    o.tensorboardDir = configString(config, "tensorboard_dir");
  if (o.data.empty() && config.contains("data_path") &&
      config["data_path"].is_array() && !config["data_path"].empty() &&
      config["data_path"][0].is_string())
    o.data = config["data_path"][0].get<std::string>();
  if (o.data.empty())
    fail("no dataset: give --data <prefix> (see moe-preprocess)");
  if (o.split.empty())
    o.split = config.contains("split") && config["split"].is_string()
                  ? config["split"].get<std::string>()
                  : "969,30,1";
  int64_t trainIters = o.trainIters.value_or(0);
  bool training = trainIters > 0;
  if (o.dumpActivations && (o.dump.empty() || training))
    fail("--dump-activations goes with --dump and evaluation (no "
         "--train-iters)");

  uint64_t seed = o.seed.value_or(plan.model.seed);
  StatusOr<data::IndexedDataset> dataset = data::IndexedDataset::open(o.data);
  check(dataset.status());
  auto ranges = data::splitDocuments(o.split, dataset->numDocuments());
  check(ranges.status());
  auto samplerOf = [&](int split, const char *what) {
    data::Sampler sampler(*dataset, (*ranges)[split], plan.model.seqLength,
                          seed);
    if (sampler.numSamples() == 0)
      fail(std::string("the ") + what + " split (documents " +
           std::to_string((*ranges)[split].first) + " to " +
           std::to_string((*ranges)[split].second) + " of " +
           std::to_string(dataset->numDocuments()) + ") holds no sample of " +
           std::to_string(plan.model.seqLength + 1) +
           " tokens; give --split a larger " + what + " share");
    return sampler;
  };
  data::Sampler valid = samplerOf(1, "validation");
  std::optional<data::Sampler> train;
  if (training)
    train.emplace(samplerOf(0, "training"));

  TrainOptions options;
  options.trainIters = trainIters;
  options.exitInterval = o.exitInterval.value_or(0);
  int64_t global =
      configInt(config, "global_batch_size", plan.model.microBatchSize);
  options.microBatches =
      std::max<int64_t>(1, global / plan.model.microBatchSize);
  options.logInterval = o.logInterval.value_or(
      std::max<int64_t>(1, configInt(config, "log_interval", 10)));
  options.evalInterval =
      o.evalInterval.value_or(configInt(config, "eval_interval", 0));
  options.evalIters = o.evalIters.value_or(
      training ? std::max<int64_t>(1, configInt(config, "eval_iters", 10))
               : 10);
  options.saveInterval =
      o.saveInterval.value_or(configInt(config, "save_interval", 0));
  options.save = training ? o.save : std::string();
  options.metricsJsonl = o.metricsJsonl;
  options.tensorboardDir = training ? o.tensorboardDir : std::string();
  options.perLayerLogging = config.value("moe_per_layer_logging", false);
  options.progressBar = training && ::isatty(STDERR_FILENO);

  if (!o.dump.empty()) {
    // The description as run: a decay without lr_decay_iters spans this run.
    if (training)
      config["train_iters"] = trainIters;
    std::filesystem::create_directories(o.dump);
    writeJson(o.dump + "/config.json", config);
  }

  std::string resumeFrom;
  if (!o.load.empty() && std::filesystem::is_directory(o.load)) {
    StatusOr<std::string> latest = latestCheckpoint(o.load);
    check(latest.status());
    if (latest->empty())
      fail(o.load +
           ": holds no checkpoint (no latest_checkpointed_iteration.txt)");
    resumeFrom = *latest;
  } else if (o.resume && !o.save.empty()) {
    StatusOr<std::string> latest = latestCheckpoint(o.save);
    check(latest.status());
    resumeFrom = *latest;
  }
  initializeParameters(executor, seed);
  if (resumeFrom.empty() && !o.load.empty())
    check(loadSafetensors(executor, o.load));

  // The oracle replays the same batches from the same weights and compares
  // the first step's gradients and every step's numbers.
  nlohmann::json steps = nlohmann::json::array();
  nlohmann::json batches = nlohmann::json::array(); // of the current step
  int64_t tokensPerBatch = plan.model.seqLength * plan.model.microBatchSize;
  if (training && !o.dump.empty())
    options.afterMicroBatch = [&]() -> Status {
      const int32_t *tokens =
          executor.dataAs<int32_t>(plan.inputs.at("tokens"));
      const int32_t *labels =
          executor.dataAs<int32_t>(plan.inputs.at("labels"));
      batches.push_back(
          {{"tokens", std::vector<int32_t>(tokens, tokens + tokensPerBatch)},
           {"labels", std::vector<int32_t>(labels, labels + tokensPerBatch)}});
      return Status();
    };
  if (training && !o.dump.empty())
    options.afterStep = [&](const StepRecord &record) -> Status {
      if (record.step == 1) {
        NamedTensors grads;
        for (const ParameterInfo &p : plan.parameters)
          grads.emplace_back(p.name, plan.states.at("grad." + p.name));
        MOERT_RETURN_IF_ERROR(
            saveSafetensors(executor, o.dump + "/grads.safetensors", grads));
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
    };
  Trainer trainer(executor, train ? &*train : nullptr, valid, options, seed);
  if (!resumeFrom.empty()) {
    check(trainer.restore(resumeFrom, !o.noLoadOptim, !o.noLoadRng));
    std::cout << "Resumed from " << resumeFrom << " at step "
              << trainer.state().iteration << "\n";
  }

  int64_t parameters = 0;
  for (const ParameterInfo &p : plan.parameters)
    parameters += plan.tensors[p.tensor].numElements();
  std::cout << "Plan:";
  for (const Program &program : plan.programs)
    std::cout << " " << program.name << " " << program.ops.size() << " ops,";
  std::cout << " " << parameters << " parameters, arena " << plan.arenaBytes
            << " bytes; " << valid.numSamples() << " validation samples of "
            << plan.model.seqLength << " tokens\n";

  if (training) {
    std::cout << "Training " << trainIters << " steps of "
              << options.microBatches << " micro-batch"
              << (options.microBatches == 1 ? "" : "es") << " of "
              << plan.model.microBatchSize << " x " << plan.model.seqLength
              << " tokens; " << train->numSamples() << " training samples";
    int64_t from = trainer.state().iteration;
    if (options.exitInterval > 0 &&
        (from / options.exitInterval + 1) * options.exitInterval < trainIters)
      std::cout << "; exiting after step "
                << (from / options.exitInterval + 1) * options.exitInterval;
    std::cout << "\n";
    if (!o.dump.empty())
      check(saveSafetensors(executor, o.dump + "/weights.safetensors"));
    check(trainer.train(std::cout));
    if (o.plot.empty() && !o.save.empty())
      o.plot = o.save + "/training.png";
    if (!o.plot.empty() && !trainer.history().empty()) {
      check(writeTrainingPlot(o.plot, trainer.history(), trainer.validation()));
      std::cout << "Plot: " << o.plot << "\n";
    }
    if (!o.dump.empty())
      writeJson(o.dump + "/steps.json", steps);
    if (!o.saveWeights.empty())
      check(saveSafetensors(executor, o.saveWeights));
    return 0;
  }

  if (!o.dump.empty()) {
    trainer.fillBatch(valid, 0);
    const int32_t *tokens = executor.dataAs<int32_t>(plan.inputs.at("tokens"));
    const int32_t *labels = executor.dataAs<int32_t>(plan.inputs.at("labels"));
    int64_t n = plan.model.seqLength * plan.model.microBatchSize;
    writeJson(o.dump + "/batch.json",
              {{"tokens", std::vector<int32_t>(tokens, tokens + n)},
               {"labels", std::vector<int32_t>(labels, labels + n)}});
    if (o.dumpActivations)
      check(dumpActivations(executor, o.dump + "/activations.safetensors"));
    StatusOr<EvalResult> first = trainer.evaluate(1);
    check(first.status());
    writeJson(
        o.dump + "/metrics.json",
        {{"lm_loss", first->lmLoss},
         {"aux_loss", first->auxLoss},
         {"z_loss", first->zLoss},
         {"tokens_per_expert", expertCountsJson(first->tokensPerExpert)}});
    check(saveSafetensors(executor, o.dump + "/weights.safetensors"));
  }
  StatusOr<EvalResult> eval = trainer.evaluate(options.evalIters);
  check(eval.status());
  char line[256];
  std::snprintf(line, sizeof(line),
                "Validation | Loss: %.4f | Aux Loss: %.4f | Z Loss: %.4f | "
                "Micro-batches: %lld",
                eval->lmLoss, eval->auxLoss, eval->zLoss,
                static_cast<long long>(options.evalIters));
  std::cout << line << "\n";
  std::snprintf(line, sizeof(line),
                "Forward: %.3f ms per micro-batch, %.2f us per token",
                eval->secondsPerMicroBatch * 1e3,
                eval->secondsPerMicroBatch * 1e6 /
                    (plan.model.seqLength * plan.model.microBatchSize));
  std::cout << line << "\n";
  printTokensPerExpert(std::cout, eval->tokensPerExpert);
  if (!o.metricsJson.empty())
    writeJson(o.metricsJson,
              {{"lm_loss", eval->lmLoss},
               {"aux_loss", eval->auxLoss},
               {"z_loss", eval->zLoss},
               {"eval_iters", options.evalIters},
               {"forward_seconds", eval->secondsPerMicroBatch},
               {"tokens_per_expert", expertCountsJson(eval->tokensPerExpert)}});
  if (!o.saveWeights.empty())
    check(saveSafetensors(executor, o.saveWeights));
  return 0;
}

int main(int argc, char **argv) {
  // Library code reports errors as Status; this catches what the standard
  // library and the JSON and command-line parsers throw (out of memory, a
  // filesystem error), so that no input ends the tool without a message.
  try {
    return run(argc, argv);
  } catch (const std::exception &e) {
    std::cerr << "moe-run: error: " << e.what() << "\n";
    return 1;
  }
}
