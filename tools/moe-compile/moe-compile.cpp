//===- moe-compile.cpp - model descriptions to IR -------------------------===//
//
//   moe-compile model.yaml                        NeMo YAML
//   moe-compile config.json --seq-length 4096     Hugging Face config.json
//   moe-compile mixtral.args                      Megatron or minimal-guide
//   flags moe-compile mixtral.args -- --num-layers 4    ... with flags appended
//   moe-compile --format=megatron -- --num-layers 2 --hidden-size 64 ...
//
// prints the forward graph (--emit=mlir) or the parameter and FLOP summary
// (--summary). Errors name the file and line, or the flag; the exit code is 1.
//
//===----------------------------------------------------------------------===//

#include "moe/Frontend/ConfigJson.h"
#include "moe/Frontend/Frontend.h"
#include "moe/Frontend/GraphBuilder.h"
#include "moe/Frontend/Parameters.h"
#include "moe/Target/PlanEmitter.h"
#include "moe/Transforms/Pipeline.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Support/Timing.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/ToolOutputFile.h"

using namespace moe::frontend;
namespace cl = llvm::cl;

static cl::list<std::string>
    inputs(cl::Positional,
           cl::desc("<model description> [-- <more model flags...>] | -- "
                    "<model flags...>"));

static cl::opt<std::string>
    formatOption("format",
                 cl::desc("Description format: nemo, megatron, minimal or hf "
                          "(default: .yaml/.yml is nemo, .json is hf, flags "
                          "are told apart by the flags they use)"),
                 cl::value_desc("name"));

enum class Emit { MLIR, MLIRTrain, Plan };
static cl::opt<Emit>
    emit("emit", cl::desc("What to produce"),
         cl::values(clEnumValN(Emit::MLIR, "mlir", "the forward graph"),
                    clEnumValN(Emit::MLIRTrain, "mlir-train",
                               "the training step: forward, backward and "
                               "the optimizer"),
                    clEnumValN(Emit::Plan, "plan",
                               "the execution plan for moe-run (binary)")),
         cl::init(Emit::MLIR));

static cl::opt<bool>
    summary("summary",
            cl::desc("Print the parameter counts (total and active per "
                     "token) and the forward FLOPs per token instead of IR"));

static cl::opt<std::string> outputFile("o", cl::desc("Output file"),
                                       cl::value_desc("file"), cl::init("-"));

static cl::opt<int64_t>
    seqLength("seq-length",
              cl::desc("Training sequence length (overrides the description; "
                       "a config.json has none and defaults to "
                       "max_position_embeddings)"),
              cl::init(0));

static cl::opt<int64_t>
    microBatchSize("micro-batch-size",
                   cl::desc("Sequences per micro-batch (overrides the "
                            "description)"),
                   cl::init(0));

static cl::opt<int64_t>
    globalBatchSize("global-batch-size",
                    cl::desc("Sequences per optimizer step over all ranks "
                             "(overrides the description)"),
                    cl::init(0));

static cl::opt<int64_t> expertParallelSize(
    "expert-model-parallel-size",
    cl::desc("Ranks that split the experts (overrides the description)"),
    cl::init(0));

static cl::opt<double>
    lr("lr",
       cl::desc("Peak learning rate (overrides the description; a "
                "config.json has none and trains at 0)"),
       cl::init(0.0));

static cl::opt<double> minLr("min-lr",
                             cl::desc("Learning rate at the end of the decay "
                                      "(overrides the description)"),
                             cl::init(0.0));

static cl::opt<int64_t> worldSize(
    "world-size",
    cl::desc("Ranks the plan runs on (mpirun -np N), each reading its own "
             "micro-batches; default: the expert parallelism"),
    cl::init(0));

static cl::opt<bool> dumpPassPipeline(
    "dump-pass-pipeline",
    cl::desc("Print the pass pipeline that builds the training step, as "
             "moe-opt --pass-pipeline takes it, to stderr"));

/// The ranks that read micro-batches of their own: every rank, except that
/// the ranks of an ep group share theirs with the replicated dispatcher.
static int64_t dataParallelSize(const ModelConfig &c, int64_t world) {
  return c.dispatcher == Dispatcher::Replicated ? world / c.expertParallelSize
                                                : world;
}

/// The training pipeline as the description configures it; fails on a
/// schedule that cannot run.
static bool pipelineOptions(const ModelConfig &c, Diagnostics &diag,
                            mlir::moe::TrainingPipelineOptions &o) {
  o.lr = c.lr;
  o.minLr = c.minLr;
  o.warmupIters = c.lrWarmupIters;
  // Megatron's lr_decay_iters defaults to train_iters; here to the length
  // of the run moe-run is given, so the plan serves any length.
  o.decayIters = c.lrDecayIters;
  o.decayStyle = c.lrDecayStyle == LRDecay::Cosine   ? "cosine"
                 : c.lrDecayStyle == LRDecay::Linear ? "linear"
                                                     : "constant";
  if (o.decayIters > 0 && c.lrDecayStyle != LRDecay::Constant &&
      o.decayIters <= o.warmupIters) {
    diag.error(SourceLoc{},
               llvm::formatv("the learning rate decays over {0} iterations, "
                             "which must exceed the {1} warmup iterations",
                             c.lrDecayIters, c.lrWarmupIters)
                   .str());
    return false;
  }
  o.beta1 = c.adamBeta1;
  o.beta2 = c.adamBeta2;
  o.eps = c.adamEps;
  o.weightDecay = c.weightDecay;
  o.clipGrad = c.clipGrad;
  // Validation has checked that the micro-batch size divides the global one.
  int64_t world = worldSize ? worldSize : c.expertParallelSize;
  int64_t global = c.globalBatchSize ? c.globalBatchSize : c.microBatchSize;
  if (world < 1 || world % c.expertParallelSize) {
    diag.error(SourceLoc{},
               llvm::formatv("--world-size {0} is not a multiple of the "
                             "expert parallelism {1}",
                             world, c.expertParallelSize)
                   .str());
    return false;
  }
  int64_t streams = dataParallelSize(c, world);
  if (global % (c.microBatchSize * streams)) {
    diag.error(SourceLoc{},
               llvm::formatv("the global batch of {0} sequences does not "
                             "split into micro-batches of {1} on {2} "
                             "data-parallel ranks",
                             global, c.microBatchSize, streams)
                   .str());
    return false;
  }
  o.microBatches = global / (c.microBatchSize * streams);
  o.worldSize = world;
  o.expertParallel = c.expertParallelSize;
  o.distributedOptimizer = c.distributedOptimizer;
  o.dispatcher = c.dispatcher == Dispatcher::AllToAll    ? "alltoall"
                 : c.dispatcher == Dispatcher::AllGather ? "allgather"
                                                         : "replicated";
  o.recompute = c.layerRecompute;
  o.planMemory = emit == Emit::Plan;
  return true;
}

static std::optional<ModelConfig> load(Diagnostics &diag) {
  LoadOptions options;
  if (seqLength.getNumOccurrences())
    options.seqLength = seqLength;
  if (microBatchSize.getNumOccurrences())
    options.microBatchSize = microBatchSize;
  if (globalBatchSize.getNumOccurrences())
    options.globalBatchSize = globalBatchSize;
  if (expertParallelSize.getNumOccurrences())
    options.expertParallelSize = expertParallelSize;
  if (lr.getNumOccurrences())
    options.lr = lr;
  if (minLr.getNumOccurrences())
    options.minLr = minLr;

  std::optional<InputFormat> format;
  if (!formatOption.empty()) {
    format = parseFormatName(formatOption);
    if (!format) {
      diag.error(SourceLoc{}, "unknown --format '" + formatOption +
                                  "'; expected nemo, megatron, minimal or hf");
      return std::nullopt;
    }
  }
  if (inputs.empty()) {
    diag.error(SourceLoc{}, "no model description: give a file, or '--' "
                            "followed by model flags");
    return std::nullopt;
  }

  // Flags on the command line, after "--".
  std::vector<Token> flags;
  SourceLoc origin;
  bool fromCommandLine = llvm::StringRef(inputs.front()).starts_with("--");
  if (fromCommandLine) {
    for (const std::string &arg : inputs)
      flags.push_back(Token{arg, SourceLoc{}});
    if (format == InputFormat::NeMo || format == InputFormat::HF) {
      diag.error(SourceLoc{},
                 "--format=" + formatOption + " reads a file, not flags");
      return std::nullopt;
    }
  } else {
    std::string path = inputs.front();
    origin = SourceLoc{path};
    if (!format)
      format = formatOfPath(path);
    bool extraFlags = inputs.size() > 1;
    if (extraFlags && !llvm::StringRef(inputs[1]).starts_with("--")) {
      diag.error(SourceLoc{}, "expected one model description, got '" + path +
                                  "' and '" + inputs[1] + "'");
      return std::nullopt;
    }
    if (extraFlags &&
        (format == InputFormat::NeMo || format == InputFormat::HF)) {
      diag.error(SourceLoc{}, "flags after '--' extend an arguments file, "
                              "not '" +
                                  path + "'");
      return std::nullopt;
    }
    if (format == InputFormat::NeMo)
      return loadNemo(path, options, diag);
    if (format == InputFormat::HF)
      return loadHuggingFace(path, options, diag);
    std::optional<std::vector<Token>> tokens = readArgsFile(path, diag);
    if (!tokens)
      return std::nullopt;
    flags = std::move(*tokens);
    // Flags after the file come later and so win, as on a command line.
    for (size_t i = 1; i < inputs.size(); ++i)
      flags.push_back(Token{inputs[i], SourceLoc{}});
  }
  return loadFlags(flags, format, origin, options, diag);
}

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  // MLIR's pass-manager, timing and printing options, as in mlir-opt:
  // --mlir-print-ir-after-all, --mlir-timing, ... The passes come first:
  // --mlir-print-ir-after=<pass> names them by their argument.
  mlir::moe::registerMoeTransformsPasses();
  mlir::registerMLIRContextCLOptions();
  mlir::registerPassManagerCLOptions();
  mlir::registerDefaultTimingManagerCLOptions();
  mlir::registerAsmPrinterCLOptions();
  cl::ParseCommandLineOptions(
      argc, argv,
      "moe-compile: compiles MoE model descriptions (NeMo YAML, Megatron "
      "flags, minimal-guide flags, Hugging Face config.json)\n");

  Diagnostics diag(llvm::errs());
  std::optional<ModelConfig> config = load(diag);
  if (!config)
    return 1;

  std::string error;
  std::unique_ptr<llvm::ToolOutputFile> output =
      mlir::openOutputFile(outputFile, &error);
  if (!output) {
    diag.error(SourceLoc{}, "cannot open '" + outputFile + "': " + error);
    return 1;
  }
  if (summary) {
    printSummary(*config, output->os());
    output->keep();
    return 0;
  }
  if (emit == Emit::Plan && outputFile == "-" &&
      llvm::sys::Process::StandardOutIsDisplayed()) {
    diag.error(SourceLoc{}, "a plan is binary; write it with -o <file> or "
                            "pipe it to moe-run -");
    return 1;
  }
  mlir::MLIRContext context;
  mlir::OwningOpRef<mlir::ModuleOp> module =
      buildForwardGraph(context, *config);
  if (!module)
    return 1;
  if (emit == Emit::MLIR) {
    module->print(output->os());
    output->os() << "\n";
    output->keep();
    return 0;
  }
  mlir::moe::TrainingPipelineOptions pipeline;
  if (!pipelineOptions(*config, diag, pipeline))
    return 1;
  mlir::PassManager pm(&context, mlir::ModuleOp::getOperationName());
  if (mlir::failed(mlir::applyPassManagerCLOptions(pm)))
    return 1;
  mlir::applyDefaultTimingPassManagerCLOptions(pm);
  mlir::moe::buildTrainingPipeline(pm, pipeline);
  if (dumpPassPipeline) {
    pm.printAsTextualPipeline(llvm::errs());
    llvm::errs() << "\n";
  }
  if (mlir::failed(pm.run(*module)))
    return 1;
  if (emit == Emit::MLIRTrain) {
    module->print(output->os());
    output->os() << "\n";
    output->keep();
    return 0;
  }
  std::vector<uint8_t> bytes;
  moe::target::PlanModelInfo info;
  info.vocabSize = config->paddedVocabSize();
  info.numLayers = config->numLayers;
  info.numExperts = config->numExperts;
  info.initMethodStd = config->initMethodStd;
  info.seed = config->seed;
  info.configJson = configToJson(*config);
  moe::target::PlanTrainingInfo training;
  training.globalBatchSize = config->globalBatchSize ? config->globalBatchSize
                                                     : config->microBatchSize;
  training.worldSize = worldSize ? worldSize : config->expertParallelSize;
  training.expertParallelSize = config->expertParallelSize;
  training.dataParallelSize = dataParallelSize(*config, training.worldSize);
  training.logInterval = config->logInterval;
  training.evalInterval = config->evalInterval;
  training.evalIters = config->evalIters;
  training.saveInterval = config->saveInterval;
  training.save = config->save;
  training.tensorboardDir = config->tensorboardDir;
  training.dataPath = config->dataPath;
  training.split = config->split;
  training.perLayerLogging = config->perLayerLogging;
  if (mlir::failed(moe::target::emitPlan(*module, info, training, bytes)))
    return 1;
  output->os().write(reinterpret_cast<const char *>(bytes.data()),
                     bytes.size());
  output->keep();
  return 0;
}
