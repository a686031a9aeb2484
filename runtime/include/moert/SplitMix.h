//===- SplitMix.h - a counter-based hash for reproducible noise -*- C++ -*-===//

#ifndef MOERT_SPLITMIX_H
#define MOERT_SPLITMIX_H

#include <cstdint>

namespace moert {

/// The splitmix64 finaliser: a well-mixed 64-bit hash of `x`. Noise drawn as
/// splitMix64(seed ^ splitMix64(counter)) depends only on (seed, counter),
/// not on the order in which it is evaluated.
inline uint64_t splitMix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

} // namespace moert

#endif // MOERT_SPLITMIX_H
