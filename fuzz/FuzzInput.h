//===- FuzzInput.h - fuzz inputs as the files the readers open --*- C++ -*-===//
//
// The readers under test take paths, as the tools give them: each input is
// written to a file in a directory of this process's own, made once.
//
//===----------------------------------------------------------------------===//

#ifndef MOE_FUZZ_FUZZINPUT_H
#define MOE_FUZZ_FUZZINPUT_H

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace moe::fuzz {

/// This process's scratch directory.
inline const std::string &scratchDir() {
  static const std::string dir = [] {
    const char *base = std::getenv("TMPDIR");
    std::string pattern =
        std::string(base ? base : "/tmp") + "/moe-fuzz-XXXXXX";
    if (!mkdtemp(pattern.data()))
      std::abort();
    return pattern;
  }();
  return dir;
}

/// Writes `size` bytes to `name` in the scratch directory; returns its path.
inline std::string writeInput(const std::string &name, const uint8_t *data,
                              size_t size) {
  std::string path = scratchDir() + "/" + name;
  FILE *file = std::fopen(path.c_str(), "wb");
  if (!file || std::fwrite(data, 1, size, file) != size || std::fclose(file))
    std::abort();
  return path;
}

/// Splits an input in two at the position its first two bytes name, so
/// that one input can fill two files.
struct TwoParts {
  const uint8_t *first;
  size_t firstSize;
  const uint8_t *second;
  size_t secondSize;
};
inline TwoParts splitInput(const uint8_t *data, size_t size) {
  if (size < 2)
    return {data, 0, data, 0};
  size_t cut = (data[0] | size_t(data[1]) << 8) % (size - 1);
  return {data + 2, cut, data + 2 + cut, size - 2 - cut};
}

} // namespace moe::fuzz

#endif // MOE_FUZZ_FUZZINPUT_H
