//===- MetricsTest.cpp - the metrics sinks' output ------------------------===//

#include "moert/Metrics.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

using namespace moert;

namespace {

StepRecord record(int64_t step) {
  StepRecord r;
  r.step = step;
  r.lmLoss = 3.24149;
  r.auxLoss = 0.0234;
  r.zLoss = 0.001;
  r.lr = 3e-4;
  r.gradNorm = 1.5;
  r.tokensPerExpert = {{0, {12, 40, 7, 5}}, {2, {1, 2, 3, 58}}};
  return r;
}

std::vector<nlohmann::json> readLines(const std::string &path) {
  std::ifstream file(path);
  std::vector<nlohmann::json> rows;
  for (std::string line; std::getline(file, line);)
    rows.push_back(nlohmann::json::parse(line));
  return rows;
}

} // namespace

TEST(Metrics, TheTerminalLogPrintsMegatronsLines) {
  std::ostringstream out;
  std::unique_ptr<MetricsSink> log = terminalLog(out, /*perLayer=*/true);
  ASSERT_TRUE(log->onLog(record(100)).ok());
  EvalResult eval;
  eval.lmLoss = 2.5;
  eval.auxLoss = 0.02;
  eval.zLoss = 0.003;
  ASSERT_TRUE(log->onValidation(100, eval).ok());
  ASSERT_TRUE(log->onCheckpoint(100, "ckpt").ok());
  EXPECT_EQ(out.str(),
            "Step 100 | Loss: 3.2415 | Aux Loss: 0.0234 | LR: 3.00e-04\n"
            "Tokens per expert, layer 0: 12 40 7 5\n"
            "Tokens per expert, layer 2: 1 2 3 58\n"
            "Validation | Step 100 | Loss: 2.5000 | Aux Loss: 0.0200 | "
            "Z Loss: 0.0030\n"
            "Saved checkpoint at step 100 to ckpt\n");
}

TEST(Metrics, JsonlStartsAFreshRunAndAppendsAResumedOne) {
  std::string dir = ::testing::TempDir() + "/jsonl-sink";
  std::filesystem::remove_all(dir);
  std::string path = dir + "/nested/metrics.jsonl";
  std::unique_ptr<MetricsSink> sink = jsonlMetrics(path);
  ASSERT_TRUE(sink->begin(0, 20).ok());
  ASSERT_TRUE(sink->onLog(record(10)).ok());
  EvalResult eval;
  eval.lmLoss = 2.5;
  ASSERT_TRUE(sink->onValidation(10, eval).ok());
  std::vector<nlohmann::json> rows = readLines(path);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0]["step"], 10);
  EXPECT_DOUBLE_EQ(rows[0]["lm_loss"].get<double>(), 3.24149);
  EXPECT_EQ(rows[0]["tokens_per_expert"]["2"][3], 58);
  EXPECT_DOUBLE_EQ(rows[1]["validation_lm_loss"].get<double>(), 2.5);

  std::unique_ptr<MetricsSink> resumed = jsonlMetrics(path);
  ASSERT_TRUE(resumed->begin(10, 20).ok());
  ASSERT_TRUE(resumed->onLog(record(20)).ok());
  EXPECT_EQ(readLines(path).size(), 3u);

  std::unique_ptr<MetricsSink> fresh = jsonlMetrics(path);
  ASSERT_TRUE(fresh->begin(0, 20).ok());
  EXPECT_EQ(readLines(path).size(), 0u);
  std::filesystem::remove_all(dir);
}

TEST(Metrics, AnUnwritableMetricsFileIsAnError) {
  std::unique_ptr<MetricsSink> sink =
      jsonlMetrics("/proc/moe-metrics/metrics.jsonl");
  EXPECT_EQ(sink->begin(0, 10).message(),
            "/proc/moe-metrics/metrics.jsonl: cannot write");
}

TEST(Metrics, TheProgressBarRedrawsAndClearsItsLine) {
  std::FILE *out = std::tmpfile();
  ASSERT_NE(out, nullptr);
  std::unique_ptr<MetricsSink> bar = progressBar(out);
  ASSERT_TRUE(bar->begin(0, 4).ok());
  ASSERT_TRUE(bar->onStep(record(2)).ok());
  ASSERT_TRUE(bar->onLog(record(2)).ok());
  std::rewind(out);
  std::string text(256, '\0');
  text.resize(std::fread(text.data(), 1, text.size(), out));
  std::fclose(out);
  EXPECT_EQ(text.substr(0, 37), "\r[===============               ] 2/4")
      << text;
  EXPECT_NE(text.find("s left "), std::string::npos) << text;
  EXPECT_EQ(text.substr(text.size() - 4), "\r\033[K");
}
