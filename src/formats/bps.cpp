// BPS decoder (byuu's "beat" patch format). Numbers are beat varints (see
// beat_format.hpp); CRCs are CRC-32, little-endian.
//
//   patch    := "BPS1" source_size:varint target_size:varint
//               metadata_size:varint metadata[metadata_size]
//               action*                          (until 12 bytes remain)
//               source_crc:u32 target_crc:u32 patch_crc:u32
//   action   := word:varint  with  length = (word >> 2) + 1, kind = word & 3:
//     0 SourceRead  target[out .. +length) = source[out .. +length)
//     1 TargetRead  length literal bytes follow in the patch
//     2 SourceCopy  delta:varint; source_cursor += signed(delta);
//                   copies source[source_cursor .. +length), cursor += length
//     3 TargetCopy  delta:varint; target_cursor += signed(delta);
//                   copies target[target_cursor .. +length) byte by byte (it may
//                   overlap the bytes it produces), cursor += length
//   signed(d) := (d & 1 ? -1 : +1) * (d >> 1)
//
// Checks, all Errc::bad_patch naming the patch offset unless noted: the
// magic; every number fits 64 bits; declared sizes are sane (too_large);
// metadata and literals stay inside the action area; the source cursor stays
// in [0, source_size]; the target cursor in [0, out) (a copy may only start
// at a byte already written); no action writes past target_size; the actions
// produce exactly target_size bytes. The patch CRC is verified first
// (Errc::checksum), then the source size and CRC (Errc::wrong_source, or
// Errc::already_applied when the source is the target), all before any
// output; the target CRC is computed while writing and checked at the end
// (Errc::checksum).
//
// Memory: TargetCopy reads recent output from TargetWriter's window and far
// references through Sink::read_back.
#include <algorithm>
#include <span>
#include <string>

#include "bpatch/error.hpp"
#include "formats/beat_format.hpp"
#include "formats/decoders.hpp"
#include "formats/source_slice.hpp"
#include "formats/target_writer.hpp"

namespace bpatch::formats {
namespace {

constexpr uint64_t kMinPatchSize = 4 + 3 + 12;  // magic, three 1-byte numbers, footer
constexpr size_t kTargetWindow = size_t{4} << 20;
constexpr uint64_t kMaxMetadataShown = uint64_t{1} << 20;

enum ActionKind { kSourceRead = 0, kTargetRead = 1, kSourceCopy = 2, kTargetCopy = 3 };
constexpr const char* kActionNames[] = {"SourceRead", "TargetRead", "SourceCopy", "TargetCopy"};

struct BpsHeader {
  uint64_t source_size = 0;
  uint64_t target_size = 0;
  uint64_t metadata_offset = 0;
  uint64_t metadata_size = 0;
  uint64_t actions_offset = 0;
  uint64_t actions_end = 0;  // where the footer starts
  ChecksumFooter footer;
};

// Reads the header after verifying the patch CRC (so that a damaged patch
// reports as Errc::checksum, whatever the damage hit).
BpsHeader read_header(const Source& patch) {
  if (patch.size() < kMinPatchSize)
    fail_at(patch, 0, "too short for a BPS patch (" + std::to_string(patch.size()) + " bytes)");
  BpsHeader h;
  h.actions_end = patch.size() - 12;
  const SourceSlice body(patch, h.actions_end);
  ByteReader in(body, 0, 256);
  if (in.u32le() != 0x31535042u) fail_at(patch, 0, "missing \"BPS1\" magic");  // "BPS1"
  h.footer = read_checksum_footer(patch);
  verify_patch_crc(patch, h.footer, "BPS");
  h.source_size = read_beat_varint(in, "source size");
  h.target_size = read_beat_varint(in, "target size");
  h.metadata_size = read_beat_varint(in, "metadata size");
  h.metadata_offset = in.offset();
  if (h.metadata_size > in.remaining())
    fail_at(patch, h.metadata_offset,
            "metadata of " + std::to_string(h.metadata_size) + " bytes runs past the action area");
  h.actions_offset = h.metadata_offset + h.metadata_size;
  check_declared_size(patch, h.source_size, "source");
  check_declared_size(patch, h.target_size, "target");
  return h;
}

// Walks the actions, checking every cursor against the declared sizes, and
// calls visit(kind, length, arg): arg is the source offset (SourceRead,
// SourceCopy), the patch offset of the literal (TargetRead) or the target
// offset to copy from (TargetCopy). Returns the number of actions.
template <typename Visit>
uint64_t walk_actions(const Source& patch, const BpsHeader& h, Visit&& visit) {
  const SourceSlice body(patch, h.actions_end);
  ByteReader in(body, h.actions_offset);
  uint64_t out = 0;  // target bytes produced
  uint64_t source_cursor = 0;
  uint64_t target_cursor = 0;
  uint64_t count = 0;
  // Applies a signed relative offset to a cursor that must stay in [0, limit].
  const auto move = [&](uint64_t& cursor, uint64_t limit, uint64_t at, const char* name) {
    const uint64_t delta = read_beat_varint(in, "relative offset");
    const uint64_t distance = delta >> 1;
    if (delta & 1) {
      if (distance > cursor)
        fail_at(patch, at,
                std::string(name) + " moves its cursor " + std::to_string(distance) +
                    " bytes back from " + std::to_string(cursor) + ", before the start");
      cursor -= distance;
    } else {
      if (distance > limit - cursor)
        fail_at(patch, at,
                std::string(name) + " moves its cursor " + std::to_string(distance) +
                    " bytes on from " + std::to_string(cursor) + ", past the end (" +
                    std::to_string(limit) + ")");
      cursor += distance;
    }
  };
  while (in.offset() < h.actions_end) {
    const uint64_t at = in.offset();
    const uint64_t word = read_beat_varint(in, "action");
    const auto kind = static_cast<ActionKind>(word & 3);
    const uint64_t length = (word >> 2) + 1;
    const std::string name = kActionNames[kind];
    if (length > h.target_size - out)
      fail_at(patch, at,
              name + " of " + std::to_string(length) + " bytes at target offset " +
                  std::to_string(out) + " writes past the target size " +
                  std::to_string(h.target_size));
    switch (kind) {
      case kSourceRead:
        if (out > h.source_size || length > h.source_size - out)
          fail_at(patch, at,
                  "SourceRead of " + std::to_string(length) + " bytes at offset " +
                      std::to_string(out) + " reads past the source size " +
                      std::to_string(h.source_size));
        visit(kind, length, out);
        break;
      case kTargetRead:
        if (length > in.remaining())
          fail_at(patch, at,
                  "TargetRead of " + std::to_string(length) + " bytes runs past the action area");
        visit(kind, length, in.offset());
        in.skip(length);
        break;
      case kSourceCopy:
        move(source_cursor, h.source_size, at, "SourceCopy");
        if (length > h.source_size - source_cursor)
          fail_at(patch, at,
                  "SourceCopy of " + std::to_string(length) + " bytes from " +
                      std::to_string(source_cursor) + " reads past the source size " +
                      std::to_string(h.source_size));
        visit(kind, length, source_cursor);
        source_cursor += length;
        break;
      case kTargetCopy:
        move(target_cursor, out, at, "TargetCopy");
        if (target_cursor >= out)
          fail_at(patch, at,
                  "TargetCopy from target offset " + std::to_string(target_cursor) +
                      ", which is not written yet (" + std::to_string(out) + " written)");
        visit(kind, length, target_cursor);
        target_cursor += length;
        break;
    }
    out += length;
    ++count;
  }
  if (out != h.target_size)
    fail_at(patch, h.actions_end,
            "the actions produce " + std::to_string(out) + " bytes but the target size is " +
                std::to_string(h.target_size));
  return count;
}

std::string describe(uint64_t size, uint32_t crc) {
  return std::to_string(size) + " bytes with CRC32 " + crc_hex(crc);
}

// matches / already_applied, or throws wrong_source.
SourceCheck classify_source(const Source& patch, const BpsHeader& h, const Source& old) {
  const uint64_t size = old.size();
  if (size != h.source_size && size != h.target_size)
    throw Error(Errc::wrong_source, old.name(),
                "not the source the BPS patch " + patch.name() + " was made for: expected " +
                    describe(h.source_size, h.footer.source_crc) + ", got " + std::to_string(size) +
                    " bytes");
  const uint32_t crc = crc32_of(old, 0, size);
  if (size == h.source_size && crc == h.footer.source_crc) return SourceCheck::matches;
  if (size == h.target_size && crc == h.footer.target_crc) return SourceCheck::already_applied;
  throw Error(Errc::wrong_source, old.name(),
              "not the source the BPS patch " + patch.name() + " was made for: expected " +
                  describe(h.source_size, h.footer.source_crc) + ", got " + describe(size, crc));
}

}  // namespace

PatchInfo inspect_bps(const Source& patch) {
  const BpsHeader h = read_header(patch);
  uint64_t counts[4] = {};
  const uint64_t actions =
      walk_actions(patch, h, [&](ActionKind kind, uint64_t, uint64_t) { ++counts[kind]; });

  PatchInfo info;
  info.format = Format::bps;
  info.patch_size = patch.size();
  info.source_size = h.source_size;
  info.target_size = h.target_size;
  info.source_crc32 = h.footer.source_crc;
  info.target_crc32 = h.footer.target_crc;
  info.patch_crc32 = h.footer.patch_crc;
  const uint64_t shown = std::min(h.metadata_size, kMaxMetadataShown);
  info.metadata.resize(static_cast<size_t>(shown));
  patch.read(h.metadata_offset, std::as_writable_bytes(std::span(info.metadata)));
  info.details.emplace_back("metadata size", std::to_string(h.metadata_size));
  info.details.emplace_back("actions", std::to_string(actions));
  for (int k = 0; k < 4; ++k) info.details.emplace_back(kActionNames[k], std::to_string(counts[k]));
  return info;
}

SourceCheck check_source_bps(const Source& patch, const Source& old) {
  const BpsHeader h = read_header(patch);
  return classify_source(patch, h, old);
}

void apply_bps(const Source& patch, const Source& old, Sink& out) {
  const BpsHeader h = read_header(patch);
  if (classify_source(patch, h, old) == SourceCheck::already_applied)
    throw Error(Errc::already_applied, old.name(),
                "already holds the result of the BPS patch " + patch.name() + " (" +
                    describe(h.target_size, h.footer.target_crc) + ")");

  TargetWriter writer(out, kTargetWindow, /*compute_crc=*/true, h.target_size);
  walk_actions(patch, h, [&](ActionKind kind, uint64_t length, uint64_t arg) {
    switch (kind) {
      case kSourceRead:
      case kSourceCopy:
        writer.append_from(old, arg, length);
        break;
      case kTargetRead:
        writer.append_from(patch, arg, length);
        break;
      case kTargetCopy:
        writer.append_copy(arg, length);
        break;
    }
  });
  writer.finish();
  if (writer.crc() != h.footer.target_crc)
    throw Error(Errc::checksum, patch.name(),
                "the decoded target's CRC32 is " + crc_hex(writer.crc()) +
                    " but the BPS patch says " + crc_hex(h.footer.target_crc));
}

}  // namespace bpatch::formats
