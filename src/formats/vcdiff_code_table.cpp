// The default VCDIFF code table and custom tables from their string form.
#include "formats/vcdiff_code_table.hpp"

#include "bpatch/error.hpp"

namespace bpatch::vcdiff {
namespace {

// RFC 3284 §5.6, built in index order.
CodeTable build_standard() {
  CodeTable t;
  size_t i = 0;
  auto single = [&](uint8_t type, uint8_t size, uint8_t mode) {
    t.entries[i++] = CodeEntry{HalfInst{type, size, mode}, HalfInst{}};
  };
  single(kRun, 0, 0);                                                                  // 0
  for (int size = 0; size <= 17; ++size) single(kAdd, static_cast<uint8_t>(size), 0);  // 1..18
  for (int mode = 0; mode <= 8; ++mode) {                                              // 19..162
    single(kCopy, 0, static_cast<uint8_t>(mode));
    for (int size = 4; size <= 18; ++size)
      single(kCopy, static_cast<uint8_t>(size), static_cast<uint8_t>(mode));
  }
  for (int mode = 0; mode <= 5; ++mode)  // 163..234
    for (int add = 1; add <= 4; ++add)
      for (int copy = 4; copy <= 6; ++copy)
        t.entries[i++] =
            CodeEntry{HalfInst{kAdd, static_cast<uint8_t>(add), 0},
                      HalfInst{kCopy, static_cast<uint8_t>(copy), static_cast<uint8_t>(mode)}};
  for (int mode = 6; mode <= 8; ++mode)  // 235..246
    for (int add = 1; add <= 4; ++add)
      t.entries[i++] = CodeEntry{HalfInst{kAdd, static_cast<uint8_t>(add), 0},
                                 HalfInst{kCopy, 4, static_cast<uint8_t>(mode)}};
  for (int mode = 0; mode <= 8; ++mode)  // 247..255
    t.entries[i++] =
        CodeEntry{HalfInst{kCopy, 4, static_cast<uint8_t>(mode)}, HalfInst{kAdd, 1, 0}};
  return t;
}

std::array<uint8_t, kCodeTableBytes> to_bytes(const CodeTable& t) {
  std::array<uint8_t, kCodeTableBytes> out{};
  for (size_t i = 0; i < 256; ++i) {
    const CodeEntry& e = t.entries[i];
    out[i] = e.first.type;
    out[256 + i] = e.second.type;
    out[512 + i] = e.first.size;
    out[768 + i] = e.second.size;
    out[1024 + i] = e.first.mode;
    out[1280 + i] = e.second.mode;
  }
  return out;
}

}  // namespace

const CodeTable& CodeTable::standard() {
  static const CodeTable table = build_standard();
  return table;
}

const std::array<uint8_t, kCodeTableBytes>& CodeTable::standard_bytes() {
  static const std::array<uint8_t, kCodeTableBytes> bytes = to_bytes(standard());
  return bytes;
}

CodeTable CodeTable::from_bytes(std::span<const uint8_t, kCodeTableBytes> b, uint8_t near_size,
                                uint8_t same_size, const std::string& name) {
  const unsigned modes = 2u + near_size + same_size;
  if (modes > 256)
    throw Error(Errc::bad_patch, name,
                "custom code table: near (" + std::to_string(near_size) + ") + same (" +
                    std::to_string(same_size) + ") caches give more than 256 address modes");
  CodeTable t;
  t.near_size = near_size;
  t.same_size = same_size;
  for (size_t i = 0; i < 256; ++i) {
    HalfInst halves[2] = {{b[i], b[512 + i], b[1024 + i]}, {b[256 + i], b[768 + i], b[1280 + i]}};
    for (HalfInst& h : halves) {
      if (h.type > kCopy)
        throw Error(Errc::bad_patch, name,
                    "custom code table: entry " + std::to_string(i) +
                        " has unknown instruction type " + std::to_string(h.type));
      if (h.type != kCopy) h.mode = 0;
      if (h.type == kNoop) h.size = 0;
    }
    t.entries[i] = CodeEntry{halves[0], halves[1]};
  }
  return t;
}

}  // namespace bpatch::vcdiff
