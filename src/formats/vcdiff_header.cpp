// VCDIFF file and window header parsing.
#include "formats/vcdiff_header.hpp"

#include "bpatch/error.hpp"
#include "formats/vcdiff_format.hpp"
#include "formats/vcdiff_secondary.hpp"

namespace bpatch::vcdiff {
namespace {

[[noreturn]] void fail_at(const ByteReader& in, uint64_t offset, Errc code,
                          const std::string& why) {
  throw Error(code, in.source().name(), "at offset " + std::to_string(offset) + ": " + why);
}

}  // namespace

uint64_t read_integer(ByteReader& in, const char* what) {
  const uint64_t start = in.offset();
  uint64_t v = 0;
  for (;;) {
    if (in.remaining() == 0)
      fail_at(in, start, Errc::bad_patch, std::string("patch is truncated inside the ") + what);
    const uint8_t b = in.u8();
    if (v > (kMaxInt >> 7))
      fail_at(in, start, Errc::bad_patch, std::string("the ") + what + " is too large");
    v = (v << 7) | (b & 0x7F);
    if ((b & 0x80) == 0) return v;
  }
}

bool WindowHeader::uses_source() const { return (indicator & kWinSource) != 0; }
bool WindowHeader::uses_target() const { return (indicator & kWinTarget) != 0; }

FileHeader read_file_header(ByteReader& in) {
  FileHeader h;
  if (in.remaining() < 5) fail_at(in, 0, Errc::bad_patch, "too short for a VCDIFF header");
  for (int i = 0; i < 3; ++i)
    if (in.u8() != kMagic[i]) fail_at(in, 0, Errc::bad_patch, "not a VCDIFF patch (bad magic)");
  h.version = in.u8();
  if (h.version != kVersionRfc && h.version != kVersionOpenVcdiff)
    fail_at(in, 3, Errc::unsupported,
            "VCDIFF version byte " + std::to_string(h.version) +
                " (known: 0 for RFC 3284, 83 'S' for open-vcdiff's extended format)");
  h.indicator = in.u8();
  if (h.indicator & ~(kHdrDecompress | kHdrCodeTable | kHdrAppHeader))
    fail_at(in, 4, Errc::bad_patch, "unknown header indicator bits " + std::to_string(h.indicator));

  if (h.indicator & kHdrDecompress) {
    const uint64_t at = in.offset();
    if (in.remaining() == 0) fail_at(in, at, Errc::bad_patch, "patch is truncated in the header");
    h.secondary_id = in.u8();
    if (!secondary_name(*h.secondary_id))
      fail_at(in, at, Errc::unsupported,
              "unknown secondary compressor id " + std::to_string(*h.secondary_id) +
                  " (known: 1 djw, 2 lzma, 16 fgk)");
  }
  if (h.indicator & kHdrCodeTable) {
    const uint64_t at = in.offset();
    const uint64_t len = read_integer(in, "code table length");
    if (len <= 2)
      fail_at(in, at, Errc::bad_patch, "code table data of " + std::to_string(len) + " bytes");
    if (len - 2 > kMaxCodeTableDelta)
      fail_at(in, at, Errc::too_large, "code table data of " + std::to_string(len) + " bytes");
    if (len > in.remaining())
      fail_at(in, at, Errc::bad_patch, "patch is truncated in the code table");
    h.has_code_table = true;
    h.near_size = in.u8();
    h.same_size = in.u8();
    h.code_table_delta.resize(len - 2);
    in.read(std::as_writable_bytes(std::span(h.code_table_delta)));
  }
  if (h.indicator & kHdrAppHeader) {
    const uint64_t at = in.offset();
    const uint64_t len = read_integer(in, "application header length");
    if (len > kMaxAppHeader)
      fail_at(in, at, Errc::too_large, "application header of " + std::to_string(len) + " bytes");
    if (len > in.remaining())
      fail_at(in, at, Errc::bad_patch, "patch is truncated in the application header");
    std::string app(len, '\0');
    in.read(std::as_writable_bytes(std::span(app.data(), app.size())));
    h.app_header = std::move(app);
  }
  return h;
}

WindowHeader read_window_header(ByteReader& in, const FileHeader& header, uint64_t output_so_far) {
  WindowHeader w;
  w.offset = in.offset();
  auto fail = [&](Errc code, const std::string& why) {
    fail_at(in, w.offset, code, "window header: " + why);
  };
  w.indicator = in.u8();
  if (w.indicator & ~(kWinSource | kWinTarget | kWinAdler32))
    fail(Errc::bad_patch, "unknown window indicator bits " + std::to_string(w.indicator));
  if (w.uses_source() && w.uses_target())
    fail(Errc::bad_patch, "both VCD_SOURCE and VCD_TARGET are set");
  if (w.uses_source() || w.uses_target()) {
    w.segment_length = read_integer(in, "segment length");
    w.segment_offset = read_integer(in, "segment offset");
    if (w.segment_offset > kMaxInt - w.segment_length)
      fail(Errc::bad_patch, "segment offset + length overflows");
    if (w.uses_target()) {
      if (w.segment_length > kMaxWindow)
        fail(Errc::too_large, "VCD_TARGET segment of " + std::to_string(w.segment_length) +
                                  " bytes (limit " + std::to_string(kMaxWindow) + ")");
      if (w.segment_offset + w.segment_length > output_so_far)
        fail(Errc::bad_patch, "VCD_TARGET segment [" + std::to_string(w.segment_offset) + ", +" +
                                  std::to_string(w.segment_length) + ") is past the " +
                                  std::to_string(output_so_far) + " bytes decoded so far");
    }
  }
  const uint64_t enc_length = read_integer(in, "delta encoding length");
  const uint64_t enc_start = in.offset();
  if (enc_length > in.remaining())
    fail(Errc::bad_patch, "delta encoding of " + std::to_string(enc_length) + " bytes but only " +
                              std::to_string(in.remaining()) + " remain in the patch");
  w.target_length = read_integer(in, "target window length");
  if (w.target_length > kMaxWindow)
    fail(Errc::too_large, "target window of " + std::to_string(w.target_length) + " bytes (limit " +
                              std::to_string(kMaxWindow) + ")");
  w.delta_indicator = in.u8();
  if (w.delta_indicator & ~(kDeltaData | kDeltaInst | kDeltaAddr))
    fail(Errc::bad_patch, "unknown delta indicator bits " + std::to_string(w.delta_indicator));
  if (w.delta_indicator != 0 && !header.secondary_id)
    fail(Errc::bad_patch, "compressed sections but the header names no secondary compressor");
  w.data_length = read_integer(in, "data section length");
  w.inst_length = read_integer(in, "instruction section length");
  w.addr_length = read_integer(in, "address section length");
  if ((w.indicator & kWinAdler32) && header.version == kVersionOpenVcdiff) {
    const uint64_t sum = read_integer(in, "checksum");
    if (sum > 0xFFFFFFFFu)
      fail(Errc::bad_patch, "checksum " + std::to_string(sum) + " exceeds 32 bits");
    w.adler32 = static_cast<uint32_t>(sum);
    w.adler32_seed = 0;
  } else if (w.indicator & kWinAdler32) {
    if (in.remaining() < 4) fail(Errc::bad_patch, "patch is truncated in the checksum");
    w.adler32 = in.u32be();
  }
  w.interleaved = header.version == kVersionOpenVcdiff && w.data_length == 0 && w.addr_length == 0;
  w.sections_offset = in.offset();
  for (uint64_t len : {w.data_length, w.inst_length, w.addr_length})
    if (len > kMaxSection)
      fail(Errc::too_large, "section of " + std::to_string(len) + " bytes (limit " +
                                std::to_string(kMaxSection) + ")");
  const uint64_t fields = w.sections_offset - enc_start;
  const uint64_t total = fields + w.data_length + w.inst_length + w.addr_length;  // < 2^28
  if (total != enc_length)
    fail(Errc::bad_patch, "delta encoding length " + std::to_string(enc_length) +
                              " disagrees with its fields and sections (" + std::to_string(total) +
                              ")");
  return w;
}

}  // namespace bpatch::vcdiff
