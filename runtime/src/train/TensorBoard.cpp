//===- TensorBoard.cpp - scalar summaries in TensorBoard's format ---------===//

#include "moert/TensorBoard.h"

#include <fmt/format.h>

#include <array>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <unistd.h>

namespace moert {

namespace {

/// Protocol-buffer encoding of the few fields an Event needs.
void varint(std::string &out, uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>(value | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

void fixed(std::string &out, const void *data, size_t size) {
  out.append(static_cast<const char *>(data), size); // little-endian host
}

void lengthDelimited(std::string &out, int field, const std::string &bytes) {
  varint(out, (field << 3) | 2);
  varint(out, bytes.size());
  out += bytes;
}

double wallTime() {
  return std::chrono::duration<double>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// Event { double wall_time = 1; int64 step = 2; <payload> }.
std::string event(int64_t step, const std::string &payload) {
  std::string out;
  double time = wallTime();
  varint(out, (1 << 3) | 1);
  fixed(out, &time, 8);
  varint(out, 2 << 3);
  varint(out, static_cast<uint64_t>(step));
  return out + payload;
}

uint32_t masked(uint32_t crc) {
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

} // namespace

uint32_t crc32c(const void *data, size_t size) {
  static const auto table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k)
        c = (c & 1) ? 0x82f63b78u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  uint32_t crc = 0xffffffffu;
  const auto *p = static_cast<const uint8_t *>(data);
  for (size_t i = 0; i < size; ++i)
    crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
  return crc ^ 0xffffffffu;
}

StatusOr<TensorBoardWriter>
TensorBoardWriter::open(const std::string &directory) {
  std::error_code error;
  std::filesystem::create_directories(directory, error);
  if (error)
    return Status::error(directory + ": cannot create: " + error.message());
  char host[256] = "localhost";
  gethostname(host, sizeof(host) - 1);
  TensorBoardWriter writer;
  writer.filePath = fmt::format("{}/events.out.tfevents.{}.{}", directory,
                                static_cast<int64_t>(wallTime()), host);
  writer.file.open(writer.filePath, std::ios::binary | std::ios::trunc);
  if (!writer.file)
    return Status::error(writer.filePath + ": cannot write");
  // Event.file_version (field 3) opens every event file.
  std::string version;
  lengthDelimited(version, 3, "brain.Event:2");
  writer.writeRecord(event(0, version));
  return writer;
}

void TensorBoardWriter::scalar(const std::string &tag, double value,
                               int64_t step) {
  // Summary { repeated Value value = 1; }, Value { string tag = 1;
  // float simple_value = 2; }; Event.summary is field 5.
  std::string summaryValue;
  lengthDelimited(summaryValue, 1, tag);
  varint(summaryValue, (2 << 3) | 5);
  float simple = static_cast<float>(value);
  fixed(summaryValue, &simple, 4);
  std::string summary;
  lengthDelimited(summary, 1, summaryValue);
  std::string payload;
  lengthDelimited(payload, 5, summary);
  writeRecord(event(step, payload));
}

void TensorBoardWriter::writeRecord(const std::string &data) {
  uint64_t length = data.size();
  uint32_t lengthCrc = masked(crc32c(&length, 8));
  uint32_t dataCrc = masked(crc32c(data.data(), data.size()));
  file.write(reinterpret_cast<const char *>(&length), 8);
  file.write(reinterpret_cast<const char *>(&lengthCrc), 4);
  file.write(data.data(), data.size());
  file.write(reinterpret_cast<const char *>(&dataCrc), 4);
}

Status TensorBoardWriter::flush() {
  if (!file.flush())
    return Status::error(filePath + ": cannot write");
  return Status();
}

} // namespace moert
