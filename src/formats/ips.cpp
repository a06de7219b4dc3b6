// IPS decoder ("International Patching System", with Lunar IPS's truncate
// extension). All numbers are unsigned big-endian.
//
//   patch    := "PATCH" record* "EOF" truncate?
//   record   := offset:u24 size:u16 data[size]            (size > 0)
//             | offset:u24 0:u16 count:u16 value:u8       (RLE: count > 0)
//   truncate := new_size:u24
//
// Semantics, as Flips and Lunar IPS apply it:
//   * The output starts as the source, grown to the largest record end when
//     a record reaches past it (the gap is zero-filled).
//   * Records are applied in file order; they may be unsorted and may
//     overlap, and a later record overwrites an earlier one.
//   * The EOF rule: wherever a record offset is expected, the three bytes
//     "EOF" (0x454F46) end the record list — a record can never start at
//     offset 0x454F46 (encoders start it at 0x454F45 and include one more
//     byte). After "EOF" the patch must end, or carry exactly three more
//     bytes: the truncate size. Anything else is a malformed patch.
//   * With a truncate size T the output is exactly T bytes (records reaching
//     past T are cut). Encoders write T only to shrink a file, so T must be
//     below the source size: otherwise the patch was made for a larger file
//     (Flips reports "not intended for this file") — Errc::wrong_source.
//   * An RLE record with count 0 is malformed (bad_patch), not a no-op.
//
// IPS carries no checksum, so the source cannot be verified: check_source
// returns matches unless the truncate rule above proves a mismatch.
//
// Streaming: the records are indexed (positions in the patch, not their
// data), painted into an interval map in file order (skipped when the
// records are sorted and disjoint, as Flips and Lunar IPS write them), and the
// output is emitted front to back: source ranges and record bytes by range,
// RLE runs as fills. Memory grows with the record count only.
#include <algorithm>
#include <array>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "bpatch/error.hpp"
#include "formats/decoders.hpp"
#include "formats/target_writer.hpp"

namespace bpatch::formats {
namespace {

constexpr uint32_t kEofMarker = 0x454F46;  // "EOF"
// Sorted, disjoint records of at least one byte each cannot number more
// than the offsets they can cover; a patch with more records than that is
// refused rather than indexed without bound.
constexpr size_t kMaxRecords = (size_t{1} << 24) + (size_t{1} << 16);

struct IpsRecord {
  uint64_t data_pos;  // patch offset of the data bytes (plain records)
  uint32_t offset;    // output offset
  uint32_t length;    // bytes written (run length for RLE)
  bool rle;
  std::byte value;  // RLE value
  uint64_t end() const { return uint64_t{offset} + length; }
};

struct IpsIndex {
  std::vector<IpsRecord> records;
  std::optional<uint32_t> truncate;
  uint64_t max_end = 0;  // largest record end
  size_t rle_records = 0;
  bool sorted_disjoint = true;
};

uint32_t read_be(ByteReader& in, int bytes) {
  uint32_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | in.u8();
  return v;
}

IpsIndex index_ips(const Source& patch) {
  ByteReader in(patch);
  std::array<std::byte, 5> magic{};
  if (patch.size() < 8) fail_at(patch, 0, "too short for an IPS patch (\"PATCH\" + \"EOF\")");
  in.read(magic);
  if (std::memcmp(magic.data(), "PATCH", 5) != 0) fail_at(patch, 0, "missing \"PATCH\" magic");

  IpsIndex index;
  uint64_t prev_end = 0;
  for (;;) {
    const uint64_t at = in.offset();
    if (in.remaining() < 3) fail_at(patch, at, "patch ends without the \"EOF\" marker");
    const uint32_t offset = read_be(in, 3);
    if (offset == kEofMarker) break;
    if (index.records.size() >= kMaxRecords)
      throw Error(Errc::too_large, patch.name(),
                  "more than " + std::to_string(kMaxRecords) + " IPS records");
    IpsRecord r{};
    r.offset = offset;
    const uint32_t size = read_be(in, 2);
    if (size == 0) {
      r.rle = true;
      r.length = read_be(in, 2);
      r.value = std::byte{in.u8()};
      if (r.length == 0) fail_at(patch, at, "RLE record with a run length of 0");
      ++index.rle_records;
    } else {
      r.length = size;
      r.data_pos = in.offset();
      if (size > in.remaining())
        fail_at(patch, at,
                "record of " + std::to_string(size) + " bytes runs past the end of the patch");
      in.skip(size);
    }
    if (r.offset < prev_end) index.sorted_disjoint = false;
    prev_end = r.end();
    index.max_end = std::max(index.max_end, r.end());
    index.records.push_back(r);
  }
  const uint64_t tail = in.remaining();
  if (tail == 3) {
    index.truncate = read_be(in, 3);
  } else if (tail != 0) {
    fail_at(patch, in.offset(),
            std::to_string(tail) +
                " bytes after the \"EOF\" marker (expected none, or a 3-byte truncate size)");
  }
  return index;
}

// The truncate rule (see the grammar): T must be below the source size.
void check_truncate(const Source& patch, const IpsIndex& index, const Source& old) {
  if (index.truncate && *index.truncate >= old.size())
    throw Error(Errc::wrong_source, old.name(),
                "the IPS patch " + patch.name() + " truncates its output to " +
                    std::to_string(*index.truncate) + " bytes, but the source has only " +
                    std::to_string(old.size()) +
                    ": it was made for a larger file (or is already applied)");
}

// One output range [start, end) taken from record `rec`.
struct Piece {
  uint32_t end;
  uint32_t rec;
};

// Paints record `rec` over [a, b): a later record hides what it covers.
void paint(std::map<uint32_t, Piece>& map, uint32_t a, uint32_t b, uint32_t rec) {
  const auto split_at = [&map](uint32_t x) {
    auto it = map.lower_bound(x);
    if (it == map.begin()) return;
    auto prev = std::prev(it);
    if (prev->second.end > x) {
      map.emplace_hint(it, x, Piece{prev->second.end, prev->second.rec});
      prev->second.end = x;
    }
  };
  split_at(a);
  split_at(b);
  map.erase(map.lower_bound(a), map.lower_bound(b));
  map.emplace(a, Piece{b, rec});
}

}  // namespace

PatchInfo inspect_ips(const Source& patch) {
  const IpsIndex index = index_ips(patch);
  PatchInfo info;
  info.format = Format::ips;
  info.patch_size = patch.size();
  if (index.truncate) info.target_size = *index.truncate;
  info.details.emplace_back("records", std::to_string(index.records.size()));
  info.details.emplace_back("rle records", std::to_string(index.rle_records));
  info.details.emplace_back("writes up to", std::to_string(index.max_end));
  if (index.truncate) info.details.emplace_back("truncate", std::to_string(*index.truncate));
  info.details.emplace_back("sorted",
                            index.sorted_disjoint ? "yes" : "no (unsorted or overlapping)");
  return info;
}

SourceCheck check_source_ips(const Source& patch, const Source& old) {
  check_truncate(patch, index_ips(patch), old);
  return SourceCheck::matches;
}

void apply_ips(const Source& patch, const Source& old, Sink& out) {
  const IpsIndex index = index_ips(patch);
  check_truncate(patch, index, old);
  const uint64_t out_size =
      index.truncate ? uint64_t{*index.truncate} : std::max(old.size(), index.max_end);

  TargetWriter writer(out, 0, /*compute_crc=*/false, out_size);
  uint64_t pos = 0;
  // Emits the output up to `end` from the source, zero-filled past its end.
  const auto emit_gap = [&](uint64_t end) {
    end = std::min(end, out_size);
    if (pos >= end) return;
    const uint64_t from_source = old.size() > pos ? std::min(end, old.size()) - pos : 0;
    if (from_source > 0) writer.append_from(old, pos, from_source);
    if (end - pos > from_source) writer.append_fill(std::byte{0}, end - pos - from_source);
    pos = end;
  };
  const auto emit_piece = [&](uint64_t start, uint64_t end, const IpsRecord& r) {
    emit_gap(start);
    end = std::min(end, out_size);
    if (pos >= end) return;
    if (r.rle)
      writer.append_fill(r.value, end - pos);
    else
      writer.append_from(patch, r.data_pos + (pos - r.offset), end - pos);
    pos = end;
  };

  if (index.sorted_disjoint) {
    for (const IpsRecord& r : index.records) emit_piece(r.offset, r.end(), r);
  } else {
    std::map<uint32_t, Piece> map;
    for (uint32_t i = 0; i < index.records.size(); ++i) {
      const IpsRecord& r = index.records[i];
      paint(map, r.offset, static_cast<uint32_t>(r.end()), i);
    }
    for (const auto& [start, piece] : map) emit_piece(start, piece.end, index.records[piece.rec]);
  }
  emit_gap(out_size);
  writer.finish();
}

}  // namespace bpatch::formats
