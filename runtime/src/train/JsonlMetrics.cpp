//===- JsonlMetrics.cpp - one JSON object a line --------------------------===//

#include "moert/Metrics.h"

#include <filesystem>
#include <fstream>

namespace moert {

namespace {

class JsonlMetrics final : public MetricsSink {
public:
  explicit JsonlMetrics(std::string path) : path(std::move(path)) {}

  Status begin(int64_t firstStep, int64_t) override {
    std::filesystem::path parent = std::filesystem::path(path).parent_path();
    std::error_code error;
    if (!parent.empty())
      std::filesystem::create_directories(parent, error);
    // A fresh run starts the file; a resumed one appends to it.
    std::ofstream file(path, firstStep == 0 ? std::ios::trunc : std::ios::app);
    if (!file)
      return Status::error(path + ": cannot write");
    return Status();
  }

  Status onLog(const StepRecord &interval) override {
    return append(stepJson(interval));
  }
  Status onValidation(int64_t step, const EvalResult &eval) override {
    return append(validationJson(step, eval));
  }

private:
  Status append(const nlohmann::json &row) {
    std::ofstream file(path, std::ios::app);
    file << row.dump() << "\n";
    if (!file)
      return Status::error(path + ": cannot write");
    return Status();
  }

  std::string path;
};

} // namespace

std::unique_ptr<MetricsSink> jsonlMetrics(std::string path) {
  return std::make_unique<JsonlMetrics>(std::move(path));
}

} // namespace moert
