// Piece: one run of an edited file — a range of the original, a run of one
// byte value, or a range of a blob — and the few operations on one piece
// that the edit list and its tree share.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "bpatch/io.hpp"

namespace bpatch {

struct Piece {
  enum class Kind { source, fill, blob };
  Kind kind = Kind::source;
  uint64_t offset = 0;  // into the original (source) or the blob (blob)
  uint64_t length = 0;
  std::byte value{0};                  // fill
  std::shared_ptr<const Source> blob;  // blob (inline bytes become a MemorySource)
};

// True when b continues a, so that the two can be one piece.
inline bool continues(const Piece& a, const Piece& b) {
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case Piece::Kind::source:
      return a.offset + a.length == b.offset;
    case Piece::Kind::fill:
      return a.value == b.value;
    case Piece::Kind::blob:
      return a.blob == b.blob && a.offset + a.length == b.offset;
  }
  return false;
}

// p without its first `n` bytes.
inline Piece tail_of(const Piece& p, uint64_t n) {
  Piece t = p;
  if (t.kind != Piece::Kind::fill) t.offset += n;
  t.length -= n;
  return t;
}

}  // namespace bpatch
