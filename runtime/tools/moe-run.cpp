//===- moe-run.cpp - runs a compiled plan ---------------------------------===//
//
//   moe-compile examples/tiny.yaml --emit=plan | moe-run - --eval-iters 4
//
// loads and verifies the plan, initialises the parameters from the seed (or
// loads them from safetensors), reads micro-batches from a Megatron indexed
// dataset and prints the language-model loss, the aux loss, the z-loss and
// the tokens each expert received per MoE layer.
//
//===----------------------------------------------------------------------===//

#include "moert/Data.h"
#include "moert/Plan.h"
#include "moert/Weights.h"
#include "moert/cpu/Executor.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>

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
  int64_t evalIters = 10;
  std::optional<int64_t> seed;
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

int inputIndex(const Plan &plan, const std::string &name) {
  auto it = plan.inputs.find(name);
  return it == plan.inputs.end() ? -1 : it->second;
}

/// Fills tokens, labels and positions from `batch` samples of S + 1 tokens;
/// token s of sequence b is row s * B + b.
void fillBatch(cpu::Executor &executor, const data::Sampler &sampler,
               int64_t firstSample, std::vector<int32_t> &tokens,
               std::vector<int32_t> &labels) {
  const Plan &plan = executor.plan();
  int64_t seq = plan.model.seqLength, batch = plan.model.microBatchSize;
  std::vector<int32_t> sample(seq + 1);
  tokens.assign(seq * batch, 0);
  labels.assign(seq * batch, 0);
  for (int64_t b = 0; b < batch; ++b) {
    sampler.sample(firstSample + b, sample.data());
    for (int64_t s = 0; s < seq; ++s) {
      tokens[s * batch + b] = sample[s];
      labels[s * batch + b] = sample[s + 1];
    }
  }
  std::copy(tokens.begin(), tokens.end(),
            executor.dataAs<int32_t>(plan.inputs.at("tokens")));
  std::copy(labels.begin(), labels.end(),
            executor.dataAs<int32_t>(plan.inputs.at("labels")));
  if (int positions = inputIndex(plan, "positions"); positions >= 0)
    for (int64_t t = 0; t < seq * batch; ++t)
      executor.dataAs<int32_t>(positions)[t] = static_cast<int32_t>(t / batch);
}

float result(cpu::Executor &executor, const std::string &name) {
  auto it = executor.plan().results.find(name);
  return it == executor.plan().results.end()
             ? 0.0f
             : *executor.dataAs<float>(it->second);
}

/// Adds each MoE layer's tokens per expert of the last run to `counts`.
void countTokens(cpu::Executor &executor,
                 std::map<int, std::vector<int64_t>> &counts) {
  const Plan &plan = executor.plan();
  for (const ExpertLoadInfo &load : plan.expertLoad) {
    const TensorInfo &indices = plan.tensors[load.indices];
    std::vector<int64_t> &layer = counts[load.layer];
    layer.resize(plan.model.numExperts, 0);
    const int32_t *ids = executor.dataAs<int32_t>(load.indices);
    const uint8_t *keep =
        load.keep >= 0 ? executor.dataAs<uint8_t>(load.keep) : nullptr;
    for (int64_t p = 0; p < indices.numElements(); ++p)
      if ((!keep || keep[p]) && ids[p] >= 0 &&
          ids[p] < static_cast<int32_t>(layer.size()))
        ++layer[ids[p]];
  }
}

void writeJson(const std::string &path, const nlohmann::json &value) {
  std::ofstream file(path);
  file << value.dump(1) << "\n";
  if (!file)
    fail(path + ": cannot write");
}

} // namespace

static int run(int argc, char **argv) {
  CLI::App app{"moe-run: runs a plan compiled by moe-compile"};
  Options options;
  app.add_option("plan", options.plan, "the plan file, or - for stdin")
      ->required();
  app.add_option("--data", options.data,
                 "Megatron dataset prefix (<prefix>.bin/.idx); default: the "
                 "description's data path");
  app.add_option("--split", options.split,
                 "train,valid,test weights (default: the description's)");
  app.add_option("--eval-iters", options.evalIters,
                 "validation micro-batches to evaluate")
      ->check(CLI::PositiveNumber);
  app.add_option("--load", options.load, "parameters from safetensors");
  app.add_option("--save-weights", options.saveWeights,
                 "write the parameters to safetensors");
  app.add_option("--seed", options.seed, "initialisation and sampling seed");
  app.add_option("--metrics-json", options.metricsJson,
                 "write the evaluated metrics as JSON");
  app.add_option("--dump", options.dump,
                 "write the model description, the first micro-batch, the "
                 "parameters and its metrics to a directory (for oracles)");
  CLI11_PARSE(app, argc, argv);

  Plan plan = readPlan(options.plan);
  StatusOr<std::unique_ptr<cpu::Executor>> created =
      cpu::Executor::create(plan);
  if (!created.ok())
    fail((options.plan == "-" ? std::string("<stdin>") : options.plan) + ": " +
         created.status().message());
  cpu::Executor &executor = **created;
  for (const char *name : {"tokens", "labels"})
    if (inputIndex(plan, name) < 0)
      fail(std::string("the plan has no '") + name + "' input");

  uint64_t seed = options.seed.value_or(plan.model.seed);
  if (!options.load.empty())
    check(loadSafetensors(executor, options.load));
  else
    initializeParameters(executor, seed);
  if (int jitter = inputIndex(plan, "jitter_seed"); jitter >= 0)
    *executor.dataAs<int64_t>(jitter) = static_cast<int64_t>(seed);

  nlohmann::json config =
      nlohmann::json::parse(plan.model.configJson, nullptr, false);
  if (!config.is_object())
    config = nlohmann::json::object();
  if (options.data.empty() && config.contains("data_path") &&
      config["data_path"].is_array() && !config["data_path"].empty() &&
      config["data_path"][0].is_string())
    options.data = config["data_path"][0].get<std::string>();
  if (options.data.empty())
    fail("no dataset: give --data <prefix> (see moe-preprocess)");
  if (options.split.empty())
    options.split = config.contains("split") && config["split"].is_string()
                        ? config["split"].get<std::string>()
                        : "969,30,1";

  StatusOr<data::IndexedDataset> dataset =
      data::IndexedDataset::open(options.data);
  check(dataset.status());
  auto ranges = data::splitDocuments(options.split, dataset->numDocuments());
  check(ranges.status());
  data::Sampler sampler(*dataset, (*ranges)[1], plan.model.seqLength, seed);
  if (sampler.numSamples() == 0)
    fail("the validation split (documents " +
         std::to_string((*ranges)[1].first) + " to " +
         std::to_string((*ranges)[1].second) + " of " +
         std::to_string(dataset->numDocuments()) + ") holds no sample of " +
         std::to_string(plan.model.seqLength + 1) +
         " tokens; give --split a larger validation share");

  int64_t parameters = 0;
  for (const ParameterInfo &p : plan.parameters)
    parameters += plan.tensors[p.tensor].numElements();
  std::cout << "Plan: " << plan.ops.size() << " ops, " << parameters
            << " parameters, arena " << plan.arenaBytes << " bytes; "
            << sampler.numSamples() << " validation samples of "
            << plan.model.seqLength << " tokens\n";

  double lmLoss = 0, auxLoss = 0, zLoss = 0, forwardSeconds = 0;
  std::map<int, std::vector<int64_t>> tokensPerExpert;
  std::vector<int32_t> tokens, labels;
  for (int64_t iter = 0; iter < options.evalIters; ++iter) {
    fillBatch(executor, sampler, iter * plan.model.microBatchSize, tokens,
              labels);
    auto start = std::chrono::steady_clock::now();
    check(executor.run());
    forwardSeconds +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    lmLoss += result(executor, "lm_loss");
    auxLoss += result(executor, "aux_loss");
    zLoss += result(executor, "z_loss");
    countTokens(executor, tokensPerExpert);
    if (iter == 0 && !options.dump.empty()) {
      std::filesystem::create_directories(options.dump);
      writeJson(options.dump + "/config.json", config);
      writeJson(options.dump + "/batch.json",
                {{"tokens", tokens}, {"labels", labels}});
      std::map<int, std::vector<int64_t>> firstCounts;
      countTokens(executor, firstCounts);
      nlohmann::json counts;
      for (auto &[layer, list] : firstCounts)
        counts[std::to_string(layer)] = list;
      writeJson(options.dump + "/metrics.json",
                {{"lm_loss", result(executor, "lm_loss")},
                 {"aux_loss", result(executor, "aux_loss")},
                 {"z_loss", result(executor, "z_loss")},
                 {"tokens_per_expert", counts}});
      check(saveSafetensors(executor, options.dump + "/weights.safetensors"));
    }
  }
  lmLoss /= options.evalIters;
  auxLoss /= options.evalIters;
  zLoss /= options.evalIters;

  char line[256];
  std::snprintf(line, sizeof(line),
                "Validation | Loss: %.4f | Aux Loss: %.4f | Z Loss: %.4f | "
                "Micro-batches: %lld",
                lmLoss, auxLoss, zLoss,
                static_cast<long long>(options.evalIters));
  std::cout << line << "\n";
  double perBatch = forwardSeconds / options.evalIters;
  std::snprintf(
      line, sizeof(line), "Forward: %.3f ms per micro-batch, %.2f us per token",
      perBatch * 1e3,
      perBatch * 1e6 / (plan.model.seqLength * plan.model.microBatchSize));
  std::cout << line << "\n";
  nlohmann::json countsJson;
  for (auto &[layer, counts] : tokensPerExpert) {
    std::cout << "Tokens per expert, layer " << layer << ":";
    for (int64_t count : counts)
      std::cout << " " << count;
    std::cout << "\n";
    countsJson[std::to_string(layer)] = counts;
  }
  if (!options.metricsJson.empty())
    writeJson(options.metricsJson, {{"lm_loss", lmLoss},
                                    {"aux_loss", auxLoss},
                                    {"z_loss", zLoss},
                                    {"eval_iters", options.evalIters},
                                    {"forward_seconds", perBatch},
                                    {"tokens_per_expert", countsJson}});
  if (!options.saveWeights.empty())
    check(saveSafetensors(executor, options.saveWeights));
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
