//===- Plot.h - a PNG of the training curves --------------------*- C++ -*-===//

#ifndef MOERT_PLOT_H
#define MOERT_PLOT_H

#include "moert/Trainer.h"

#include <string>

namespace moert {

/// Draws the training loss (and validation loss) against the step, and each
/// expert's share of the routed tokens (summed over the MoE layers) against
/// the step, into a PNG at `path`.
Status writeTrainingPlot(const std::string &path,
                         const std::vector<StepRecord> &history,
                         const std::vector<std::pair<int64_t, double>> &valid);

} // namespace moert

#endif // MOERT_PLOT_H
