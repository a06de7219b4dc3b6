// Test-side IPS, BPS and UPS writers and in-memory reference appliers,
// written straight from the format documents (the ZeroSoft IPS page plus
// Lunar IPS's truncate extension, byuu's BPS and UPS specifications), sharing
// no code with the library's decoders — not even the CRC — so that the tests
// check the decoders against an independent reading of each format.
//
// Everything works on whole in-memory buffers: these are for small generated
// test files, not for production sizes. Not thread-safe only in the sense
// that the inputs must not change during a call; no shared state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace bpatch::testing {

using Bytes = std::vector<std::byte>;

Bytes to_bytes(std::string_view text);
Bytes random_bytes(size_t size, uint32_t seed);
// Bitwise CRC-32 (IEEE), independent of the library's table-driven one.
uint32_t reference_crc32(std::span<const std::byte> data);
void put_u32le(Bytes& out, uint32_t value);
// A beat (UPS/BPS) variable-length number.
void put_beat_varint(Bytes& out, uint64_t value);

// ---------------------------------------------------------------- IPS
struct IpsRecord {
  uint32_t offset = 0;
  Bytes data;        // plain record: the bytes to write
  bool rle = false;  // RLE record: `count` copies of `value`
  uint16_t count = 0;
  std::byte value{0};
};

// "PATCH" records "EOF" [truncate]. Writes what it is given, even records a
// decoder must refuse (RLE count 0) or that no encoder should write.
Bytes encode_ips(const std::vector<IpsRecord>& records, std::optional<uint32_t> truncate = {});
// The reference semantics: records applied in order onto a copy of `old`
// (grown with zeros as needed), then cut to `truncate`.
Bytes model_apply_ips(const Bytes& old, const std::vector<IpsRecord>& records,
                      std::optional<uint32_t> truncate);
// An IPS encoder: sorted records for the changed bytes, RLE for runs, never a
// record at 0x454F46, a truncate size when the file shrinks.
struct IpsDiff {
  std::vector<IpsRecord> records;
  std::optional<uint32_t> truncate;
};
IpsDiff diff_ips(const Bytes& old, const Bytes& neu);

// ---------------------------------------------------------------- BPS
enum class BpsOp { source_read, target_read, source_copy, target_copy };
struct BpsAction {
  BpsOp op = BpsOp::source_read;
  uint64_t length = 0;
  int64_t relative = 0;  // SourceCopy / TargetCopy: signed cursor move
  Bytes data;            // TargetRead: the literal bytes (length = data.size())
};
struct BpsHeaderSpec {
  uint64_t source_size = 0;
  uint64_t target_size = 0;
  uint32_t source_crc = 0;
  uint32_t target_crc = 0;
  std::string metadata;
};
// Writes the patch exactly as described (hostile values included) and the
// correct patch CRC.
Bytes encode_bps(const BpsHeaderSpec& header, const std::vector<BpsAction>& actions);
// A greedy BPS encoder that uses all four actions: SourceRead where old and
// new agree in place, SourceCopy for moved data, TargetCopy for repeats and
// runs (overlapping copies with distance 1), TargetRead otherwise.
std::vector<BpsAction> diff_bps_actions(const Bytes& old, const Bytes& neu);
Bytes diff_bps(const Bytes& old, const Bytes& neu, const std::string& metadata = "");
// The reference decoder (trusts its input: for well-formed patches only).
Bytes model_apply_bps(const Bytes& old, const std::vector<BpsAction>& actions);

// ---------------------------------------------------------------- UPS
struct UpsHunk {
  uint64_t skip = 0;
  Bytes xor_bytes;  // without the terminating 0
};
struct UpsHeaderSpec {
  uint64_t input_size = 0;
  uint64_t output_size = 0;
  uint32_t input_crc = 0;
  uint32_t output_crc = 0;
};
Bytes encode_ups(const UpsHeaderSpec& header, const std::vector<UpsHunk>& hunks);
Bytes diff_ups(const Bytes& old, const Bytes& neu);

// Rewrites the last four bytes with the CRC of the rest (after a test has
// edited a BPS/UPS patch on purpose).
void fix_patch_crc(Bytes& patch);

}  // namespace bpatch::testing
