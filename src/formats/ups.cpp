// UPS decoder (byuu's "universal patching system"). Numbers are beat varints
// (see beat_format.hpp); CRCs are CRC-32, little-endian.
//
//   patch := "UPS1" input_size:varint output_size:varint hunk*
//            input_crc:u32 output_crc:u32 patch_crc:u32
//   hunk  := skip:varint xor:byte* 0x00
//
// Semantics (byuu's reference decoder): a cursor p starts at 0. For each
// hunk, p advances by `skip` (the output copies the input there); then each
// byte x, the terminating 0 included, sets output[p] = input[p] ^ x and
// advances p. After the last hunk the output copies the input up to
// output_size. input[p] reads as 0 at or past input_size; output bytes at or
// past output_size are dropped. So the hunks hold input XOR output over
// max(input_size, output_size) bytes and the format is symmetric: applied to
// a file that matches the *output* side (size and CRC), the same hunks turn it
// back into the input ("reverse" application).
//
// Checks (Errc::bad_patch naming the patch offset unless noted): the magic;
// numbers fit 64 bits; declared sizes are sane (too_large); the cursor never
// passes max(input_size, output_size) (only a terminator may sit exactly
// there); a hunk must end inside the hunk area. The patch CRC is verified
// first (Errc::checksum); the source must match the input or the output side
// in size and CRC before any output (Errc::wrong_source otherwise); the CRC
// of the result is computed while writing and checked at the end
// (Errc::checksum). Some appliers let the cursor run on past both files
// (the bytes are dropped); here that is a malformed patch.
#include <algorithm>
#include <string>
#include <vector>

#include "bpatch/error.hpp"
#include "formats/beat_format.hpp"
#include "formats/decoders.hpp"
#include "formats/source_slice.hpp"
#include "formats/target_writer.hpp"

namespace bpatch::formats {
namespace {

constexpr uint64_t kMinPatchSize = 4 + 2 + 12;  // magic, two 1-byte numbers, footer
constexpr size_t kXorBuffer = size_t{1} << 16;

struct UpsHeader {
  uint64_t input_size = 0;
  uint64_t output_size = 0;
  uint64_t hunks_offset = 0;
  uint64_t hunks_end = 0;  // where the footer starts
  ChecksumFooter footer;
};

// Reads the header after verifying the patch CRC (so that a damaged patch
// reports as Errc::checksum, whatever the damage hit).
UpsHeader read_header(const Source& patch) {
  if (patch.size() < kMinPatchSize)
    fail_at(patch, 0, "too short for a UPS patch (" + std::to_string(patch.size()) + " bytes)");
  UpsHeader h;
  h.hunks_end = patch.size() - 12;
  const SourceSlice body(patch, h.hunks_end);
  ByteReader in(body, 0, 64);
  if (in.u32le() != 0x31535055u) fail_at(patch, 0, "missing \"UPS1\" magic");  // "UPS1"
  h.footer = read_checksum_footer(patch);
  verify_patch_crc(patch, h.footer, "UPS");
  h.input_size = read_beat_varint(in, "input size");
  h.output_size = read_beat_varint(in, "output size");
  h.hunks_offset = in.offset();
  check_declared_size(patch, h.input_size, "input");
  check_declared_size(patch, h.output_size, "output");
  return h;
}

// Walks the hunks, checking the cursor; calls skip(end) to have the output
// copy the input up to `end`, and xor(p, x) for each XOR byte (the
// terminating 0 included). Returns the number of hunks.
template <typename Skip, typename Xor>
uint64_t walk_hunks(const Source& patch, const UpsHeader& h, Skip&& skip, Xor&& xor_byte) {
  const SourceSlice body(patch, h.hunks_end);
  ByteReader in(body, h.hunks_offset);
  const uint64_t limit = std::max(h.input_size, h.output_size);
  uint64_t p = 0;
  uint64_t hunks = 0;
  while (in.offset() < h.hunks_end) {
    const uint64_t at = in.offset();
    const uint64_t distance = read_beat_varint(in, "hunk offset");
    if (p > limit || distance > limit - p)
      fail_at(
          patch, at,
          "hunk moves the cursor past the end of both files (" + std::to_string(limit) + " bytes)");
    p += distance;
    skip(p);
    for (;;) {
      const uint64_t byte_at = in.offset();
      if (byte_at >= h.hunks_end) fail_at(patch, at, "hunk has no terminating 0 byte");
      const uint8_t x = in.u8();
      if (x != 0 && p >= limit)
        fail_at(
            patch, byte_at,
            "hunk changes a byte past the end of both files (" + std::to_string(limit) + " bytes)");
      xor_byte(p, x);
      ++p;
      if (x == 0) break;
    }
    ++hunks;
  }
  return hunks;
}

std::string describe(uint64_t size, uint32_t crc) {
  return std::to_string(size) + " bytes with CRC32 " + crc_hex(crc);
}

// true: apply forward; false: apply in reverse. Throws wrong_source.
bool classify_source(const Source& patch, const UpsHeader& h, const Source& old) {
  const uint64_t size = old.size();
  const auto mismatch = [&](const std::string& got) {
    return Error(Errc::wrong_source, old.name(),
                 "not a file the UPS patch " + patch.name() + " fits: expected " +
                     describe(h.input_size, h.footer.source_crc) + " (or, to undo it, " +
                     describe(h.output_size, h.footer.target_crc) + "), got " + got);
  };
  if (size != h.input_size && size != h.output_size)
    throw mismatch(std::to_string(size) + " bytes");
  const uint32_t crc = crc32_of(old, 0, size);
  if (size == h.input_size && crc == h.footer.source_crc) return true;
  if (size == h.output_size && crc == h.footer.target_crc) return false;
  throw mismatch(describe(size, crc));
}

}  // namespace

PatchInfo inspect_ups(const Source& patch) {
  const UpsHeader h = read_header(patch);
  uint64_t xor_bytes = 0;
  const uint64_t hunks = walk_hunks(
      patch, h, [](uint64_t) {}, [&](uint64_t, uint8_t x) { xor_bytes += x != 0; });
  PatchInfo info;
  info.format = Format::ups;
  info.patch_size = patch.size();
  info.source_size = h.input_size;
  info.target_size = h.output_size;
  info.source_crc32 = h.footer.source_crc;
  info.target_crc32 = h.footer.target_crc;
  info.patch_crc32 = h.footer.patch_crc;
  info.details.emplace_back("hunks", std::to_string(hunks));
  info.details.emplace_back("changed bytes", std::to_string(xor_bytes));
  return info;
}

SourceCheck check_source_ups(const Source& patch, const Source& old) {
  const UpsHeader h = read_header(patch);
  classify_source(patch, h, old);  // either direction is a match
  return SourceCheck::matches;
}

void apply_ups(const Source& patch, const Source& old, Sink& out) {
  const UpsHeader h = read_header(patch);
  const bool forward = classify_source(patch, h, old);
  const uint64_t in_size = forward ? h.input_size : h.output_size;
  const uint64_t out_size = forward ? h.output_size : h.input_size;
  const uint32_t out_crc = forward ? h.footer.target_crc : h.footer.source_crc;

  TargetWriter writer(out, 0, /*compute_crc=*/true, out_size);
  ByteReader input(old);
  std::vector<std::byte> pending;  // XOR results not yet handed to the writer
  pending.reserve(kXorBuffer);
  uint64_t done = 0;  // output offset up to which the output is produced
  const auto drain = [&] {
    writer.append(pending);
    pending.clear();
  };
  // Output [done, end) copies the input (zeros past its end), cut at out_size.
  const auto copy_input = [&](uint64_t end) {
    drain();
    const uint64_t stop = std::min(end, out_size);
    if (done < stop) {
      const uint64_t from_input = done < in_size ? std::min(stop, in_size) - done : 0;
      if (from_input > 0) writer.append_from(old, done, from_input);
      if (stop - done > from_input) writer.append_fill(std::byte{0}, stop - done - from_input);
    }
    done = std::max(done, end);
  };
  walk_hunks(patch, h, copy_input, [&](uint64_t p, uint8_t x) {
    uint8_t value = x;
    if (p < in_size) {
      if (input.offset() != p) input.seek(p);
      value ^= input.u8();
    }
    if (p < out_size) {
      pending.push_back(std::byte{value});
      if (pending.size() == kXorBuffer) drain();
    }
    done = p + 1;
  });
  copy_input(out_size);
  writer.finish();
  if (writer.crc() != out_crc)
    throw Error(Errc::checksum, patch.name(),
                "the decoded " + std::string(forward ? "output" : "input (reverse application)") +
                    "'s CRC32 is " + crc_hex(writer.crc()) + " but the UPS patch says " +
                    crc_hex(out_crc));
}

}  // namespace bpatch::formats
