//===- TensorBoardMetrics.cpp - training scalars for TensorBoard ----------===//

#include "moert/Metrics.h"
#include "moert/TensorBoard.h"

#include <fmt/format.h>

#include <optional>

namespace moert {

namespace {

class TensorBoardMetrics final : public MetricsSink {
public:
  explicit TensorBoardMetrics(std::string directory)
      : directory(std::move(directory)) {}

  Status begin(int64_t, int64_t) override {
    StatusOr<TensorBoardWriter> opened = TensorBoardWriter::open(directory);
    if (!opened.ok())
      return opened.status();
    writer.emplace(std::move(*opened));
    return Status();
  }

  Status onLog(const StepRecord &r) override {
    writer->scalar("lm loss", r.lmLoss, r.step);
    writer->scalar("load_balancing_loss", r.auxLoss, r.step);
    writer->scalar("z_loss", r.zLoss, r.step);
    writer->scalar("learning-rate", r.lr, r.step);
    writer->scalar("grad-norm", r.gradNorm, r.step);
    for (const auto &[layer, list] : r.tokensPerExpert)
      for (size_t e = 0; e < list.size(); ++e)
        writer->scalar(
            fmt::format("tokens_per_expert/layer_{}/expert_{}", layer, e),
            static_cast<double>(list[e]), r.step);
    for (const auto &[layer, count] : r.droppedTokens)
      writer->scalar(fmt::format("dropped_tokens/layer_{}", layer),
                     static_cast<double>(count), r.step);
    return writer->flush();
  }

  Status onValidation(int64_t step, const EvalResult &eval) override {
    writer->scalar("lm loss validation", eval.lmLoss, step);
    return writer->flush();
  }

private:
  std::string directory;
  std::optional<TensorBoardWriter> writer;
};

} // namespace

std::unique_ptr<MetricsSink> tensorBoardMetrics(std::string directory) {
  return std::make_unique<TensorBoardMetrics>(std::move(directory));
}

} // namespace moert
