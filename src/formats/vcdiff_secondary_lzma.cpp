// xdelta3's LZMA secondary compressor (id 2).
//
// xdelta3 opens one .xz encoder per section kind (LZMA2, check NONE) and
// feeds it every window's section in turn, ending each with
// LZMA_SYNC_FLUSH. So a section here is a slice of one long .xz stream:
// the stream header appears only in the first compressed section of its
// kind, and each slice must decode to exactly its declared size and be
// consumed entirely.
#include <lzma.h>

#include <string>

#include "bpatch/error.hpp"
#include "formats/vcdiff_secondary.hpp"

namespace bpatch::vcdiff {
namespace {

// xdelta3 uses its compression level as the LZMA preset, so -9 means a
// 64 MiB dictionary (liblzma's decoder then needs a little more); anything
// larger is refused rather than allocated. One such decoder exists per
// section kind: 3 x 66 MiB at most, resident only as far as it has decoded.
constexpr uint64_t kMemLimit = uint64_t{66} << 20;

[[noreturn]] void fail(const std::string& why) { throw Error(Errc::bad_patch, "", "lzma: " + why); }

class LzmaDecoder final : public SecondaryDecoder {
 public:
  LzmaDecoder() {
    if (lzma_stream_decoder(&strm_, kMemLimit, LZMA_TELL_NO_CHECK) != LZMA_OK)
      throw Error(Errc::io, "", "lzma: cannot initialise the decoder");
  }
  ~LzmaDecoder() override { lzma_end(&strm_); }
  LzmaDecoder(const LzmaDecoder&) = delete;
  LzmaDecoder& operator=(const LzmaDecoder&) = delete;

  void decode(std::span<const uint8_t> in, std::span<uint8_t> out) override {
    if (failed_) fail("an earlier section of this kind was corrupt");
    failed_ = true;
    strm_.next_in = in.data();
    strm_.avail_in = in.size();
    strm_.next_out = out.data();
    strm_.avail_out = out.size();
    while (strm_.avail_out > 0) {
      const size_t before_in = strm_.avail_in;
      const size_t before_out = strm_.avail_out;
      const lzma_ret r = lzma_code(&strm_, LZMA_RUN);
      check(r);
      if (r == LZMA_STREAM_END && strm_.avail_out > 0)
        fail("stream ends before the section's declared size");
      if (strm_.avail_in == before_in && strm_.avail_out == before_out)
        fail("section ends before its declared size (" + std::to_string(out.size()) + " bytes)");
    }
    // The output is complete; the rest of the input must be bookkeeping
    // that yields no byte (normally nothing is left at all).
    while (strm_.avail_in > 0) {
      uint8_t extra;
      strm_.next_out = &extra;
      strm_.avail_out = 1;
      const size_t before_in = strm_.avail_in;
      const lzma_ret r = lzma_code(&strm_, LZMA_RUN);
      check(r);
      if (strm_.avail_out == 0) fail("section holds more data than its declared size");
      if (r == LZMA_STREAM_END || strm_.avail_in == before_in) break;
    }
    if (strm_.avail_in != 0)
      fail("section has " + std::to_string(strm_.avail_in) + " unused bytes");
    failed_ = false;
  }

 private:
  static void check(lzma_ret r) {
    switch (r) {
      case LZMA_OK:
      case LZMA_NO_CHECK:
      case LZMA_STREAM_END:
        return;
      case LZMA_MEM_ERROR:
        throw Error(Errc::io, "", "lzma: out of memory");
      case LZMA_MEMLIMIT_ERROR:
        throw Error(Errc::too_large, "",
                    "lzma: the stream needs more than 66 MiB (a dictionary larger than xdelta3 "
                    "-9's 64 MiB)");
      case LZMA_FORMAT_ERROR:
        fail("not an .xz stream");
      case LZMA_OPTIONS_ERROR:
        fail("unsupported stream options");
      default:
        fail("corrupt data (liblzma error " + std::to_string(static_cast<int>(r)) + ")");
    }
  }

  lzma_stream strm_ = LZMA_STREAM_INIT;
  bool failed_ = false;
};

}  // namespace

std::unique_ptr<SecondaryDecoder> make_lzma_decoder() { return std::make_unique<LzmaDecoder>(); }

}  // namespace bpatch::vcdiff
