//===- TensorBoard.h - scalar summaries in TensorBoard's format -*- C++ -*-===//
//
// Writes `events.out.tfevents.<time>.<host>` files that TensorBoard reads: a
// TFRecord stream (length, masked CRC-32C of the length, data, masked CRC-32C
// of the data) of serialized `Event` protocol buffers, each holding the wall
// time, the step and a `Summary` with one scalar.
//
//===----------------------------------------------------------------------===//

#ifndef MOERT_TENSORBOARD_H
#define MOERT_TENSORBOARD_H

#include "moert/Status.h"

#include <cstdint>
#include <fstream>
#include <string>

namespace moert {

class TensorBoardWriter {
public:
  /// Creates the directory and the event file, and writes its header event.
  static StatusOr<TensorBoardWriter> open(const std::string &directory);

  /// Records `value` under `tag` ("lm loss", "learning-rate", ...) at `step`.
  void scalar(const std::string &tag, double value, int64_t step);
  Status flush();
  const std::string &path() const { return filePath; }

private:
  void writeRecord(const std::string &data);

  std::string filePath;
  std::ofstream file;
};

/// CRC-32C (Castagnoli), as TFRecord uses it.
uint32_t crc32c(const void *data, size_t size);

} // namespace moert

#endif // MOERT_TENSORBOARD_H
