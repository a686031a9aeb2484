//===- Metrics.cpp - metrics records and the sinks' defaults --------------===//

#include "moert/Metrics.h"

namespace moert {

Status MetricsSink::begin(int64_t, int64_t) { return Status(); }
Status MetricsSink::onStep(const StepRecord &) { return Status(); }
Status MetricsSink::onLog(const StepRecord &) { return Status(); }
Status MetricsSink::onValidation(int64_t, const EvalResult &) {
  return Status();
}
Status MetricsSink::onCheckpoint(int64_t, const std::string &) {
  return Status();
}
Status MetricsSink::end() { return Status(); }

nlohmann::json expertCountsJson(const ExpertCounts &counts) {
  nlohmann::json json = nlohmann::json::object();
  for (const auto &[layer, list] : counts)
    json[std::to_string(layer)] = list;
  return json;
}

nlohmann::json droppedCountsJson(const DroppedCounts &dropped) {
  nlohmann::json json = nlohmann::json::object();
  for (const auto &[layer, count] : dropped)
    json[std::to_string(layer)] = count;
  return json;
}

nlohmann::json stepJson(const StepRecord &record) {
  nlohmann::json json = {
      {"step", record.step},
      {"lm_loss", record.lmLoss},
      {"aux_loss", record.auxLoss},
      {"z_loss", record.zLoss},
      {"lr", record.lr},
      {"grad_norm", record.gradNorm},
      {"seconds_per_step", record.secondsPerStep},
      {"tokens_per_expert", expertCountsJson(record.tokensPerExpert)}};
  if (!record.droppedTokens.empty())
    json["dropped_tokens"] = droppedCountsJson(record.droppedTokens);
  if (record.skipped > 0)
    json["skipped_iterations"] = record.skipped;
  return json;
}

nlohmann::json validationJson(int64_t step, const EvalResult &eval) {
  return {{"step", step},
          {"validation_lm_loss", eval.lmLoss},
          {"validation_aux_loss", eval.auxLoss},
          {"validation_z_loss", eval.zLoss}};
}

} // namespace moert
