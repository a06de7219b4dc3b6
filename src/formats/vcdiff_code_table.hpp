// VCDIFF instruction code tables (RFC 3284 §5.4–5.6, §7).
//
// A code table maps each of the 256 instruction bytes to a pair of
// half-instructions (type, size, mode); size 0 means "read the size from
// the instruction section". Its 1536-byte string form, used to ship a
// custom table inside a patch, is six 256-byte rows in this order:
//   type1[256] type2[256] size1[256] size2[256] mode1[256] mode2[256]
// with types NOOP 0, ADD 1, RUN 2, COPY 3.
//
// Immutable after construction; safe to share.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>

namespace bpatch::vcdiff {

enum InstType : uint8_t { kNoop = 0, kAdd = 1, kRun = 2, kCopy = 3 };

struct HalfInst {
  uint8_t type = kNoop;
  uint8_t size = 0;
  uint8_t mode = 0;
};

struct CodeEntry {
  HalfInst first;
  HalfInst second;
};

inline constexpr size_t kCodeTableBytes = 1536;

struct CodeTable {
  std::array<CodeEntry, 256> entries{};
  uint8_t near_size = 4;
  uint8_t same_size = 3;

  // The table of RFC 3284 §5.6 with a 4-entry near and 3-entry same cache.
  static const CodeTable& standard();

  // The 1536-byte string form of `standard()`: the source a custom table's
  // delta is decoded against.
  static const std::array<uint8_t, kCodeTableBytes>& standard_bytes();

  // Builds a table from its string form and cache sizes. Throws
  // Error(bad_patch, name) when an entry names an unknown type, or when
  // near + same + 2 modes exceed 256. An entry whose COPY mode the caches
  // do not have is kept (a table may keep the default entries while
  // shrinking the caches) and fails only if a window uses it.
  static CodeTable from_bytes(std::span<const uint8_t, kCodeTableBytes> bytes, uint8_t near_size,
                              uint8_t same_size, const std::string& name);
};

}  // namespace bpatch::vcdiff
