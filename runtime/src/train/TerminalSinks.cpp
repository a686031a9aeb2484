//===- TerminalSinks.cpp - the log lines and the progress bar -------------===//

#include "moert/Metrics.h"

#include <fmt/format.h>
#include <fmt/ostream.h>

#include <chrono>

namespace moert {

void printTokensPerExpert(std::ostream &out, const ExpertCounts &counts,
                          const DroppedCounts &dropped) {
  for (const auto &[layer, list] : counts) {
    fmt::print(out, "Tokens per expert, layer {}: {}", layer,
               fmt::join(list, " "));
    if (auto it = dropped.find(layer); it != dropped.end())
      fmt::print(out, " | Dropped: {}", it->second);
    fmt::print(out, "\n");
  }
}

namespace {

class TerminalLog final : public MetricsSink {
public:
  TerminalLog(std::ostream &out, bool perLayer)
      : out(out), perLayer(perLayer) {}

  Status onLog(const StepRecord &r) override {
    fmt::print(out, "Step {} | Loss: {:.4f} | Aux Loss: {:.4f} | LR: {:.2e}",
               r.step, r.lmLoss, r.auxLoss, r.lr);
    if (r.skipped > 0)
      fmt::print(out, " | Skipped iterations: {}", r.skipped);
    fmt::print(out, "\n");
    if (perLayer)
      printTokensPerExpert(out, r.tokensPerExpert, r.droppedTokens);
    out.flush();
    return Status();
  }

  Status onValidation(int64_t step, const EvalResult &eval) override {
    fmt::print(out,
               "Validation | Step {} | Loss: {:.4f} | Aux Loss: {:.4f} | "
               "Z Loss: {:.4f}\n",
               step, eval.lmLoss, eval.auxLoss, eval.zLoss);
    out.flush();
    return Status();
  }

  Status onCheckpoint(int64_t step, const std::string &directory) override {
    fmt::print(out, "Saved checkpoint at step {} to {}\n", step, directory);
    out.flush();
    return Status();
  }

private:
  std::ostream &out;
  bool perLayer;
};

class ProgressBar final : public MetricsSink {
public:
  explicit ProgressBar(std::FILE *out) : out(out) {}

  Status begin(int64_t firstStep, int64_t trainIters) override {
    first = firstStep;
    total = trainIters;
    start = std::chrono::steady_clock::now();
    return Status();
  }

  Status onStep(const StepRecord &step) override {
    const int64_t width = 30;
    int64_t filled = step.step * width / total;
    double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    double left = elapsed / (step.step - first) * (total - step.step);
    fmt::print(out, "\r[{:=<{}}{: <{}}] {}/{}  {:.0f}s left ", "", filled, "",
               width - filled, step.step, total, left);
    std::fflush(out);
    return Status();
  }

  // Another sink is about to print a line: clear the bar first.
  Status onLog(const StepRecord &) override { return clear(); }
  Status onValidation(int64_t, const EvalResult &) override { return clear(); }
  Status onCheckpoint(int64_t, const std::string &) override { return clear(); }
  Status end() override { return clear(); }

private:
  Status clear() {
    fmt::print(out, "\r\033[K");
    std::fflush(out);
    return Status();
  }

  std::FILE *out;
  int64_t first = 0, total = 1;
  std::chrono::steady_clock::time_point start;
};

} // namespace

std::unique_ptr<MetricsSink> terminalLog(std::ostream &out, bool perLayer) {
  return std::make_unique<TerminalLog>(out, perLayer);
}

std::unique_ptr<MetricsSink> progressBar(std::FILE *out) {
  return std::make_unique<ProgressBar>(out);
}

} // namespace moert
