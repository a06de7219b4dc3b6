// libFuzzer target: bpatch's own bzip2 decoder against libbz2, its oracle.
//
// Input layout: mode:u8 rest. With mode bit 0 clear, `rest` is the bzip2
// stream. With it set, `rest` is compressed by libbz2 first (block size 1
// to 9 from mode bits 1-4) and then one bit of the stream, chosen by the
// last two input bytes, is flipped, so that mutations reach deep into valid
// block structure instead of dying on the stream header.
//
// The decoder, fed in chunks whose size mode bits 5-7 choose, must give the
// same verdict as libbz2: the same bytes when libbz2 decodes the input as
// exactly one stream, an error (Bzip2DataError) when it does not. A
// randomised block (Bzip2Randomised) ends the run: libbz2 decodes those in
// bpatch. Outputs past 32 MiB are not compared (a few bytes can declare
// 46 MB per block). Anything else traps.
#include <bzlib.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <span>
#include <string>

#include "formats/bzip2_decoder.hpp"

namespace {

constexpr size_t kMaxOutput = 32 << 20;

struct Verdict {
  bool accepted = false;
  bool too_long = false;
  std::string output;
};

Verdict libbz2(const std::string& in) {
  Verdict v;
  bz_stream s{};
  if (BZ2_bzDecompressInit(&s, 0, 0) != BZ_OK) abort();
  s.next_in = const_cast<char*>(in.data());
  s.avail_in = static_cast<unsigned>(in.size());
  char buf[65536];
  int rc;
  for (;;) {
    s.next_out = buf;
    s.avail_out = sizeof buf;
    rc = BZ2_bzDecompress(&s);
    v.output.append(buf, sizeof buf - s.avail_out);
    if (v.output.size() > kMaxOutput) {
      v.too_long = true;
      break;
    }
    if (rc != BZ_OK || (s.avail_in == 0 && s.avail_out != 0)) break;
  }
  v.accepted = rc == BZ_STREAM_END && s.avail_in == 0;
  BZ2_bzDecompressEnd(&s);
  return v;
}

std::optional<Verdict> own(const std::string& in, size_t chunk) {
  Verdict v;
  size_t pos = 0;
  bpatch::formats::Bzip2Decoder d([&]() -> std::span<const std::byte> {
    const size_t n = std::min(chunk, in.size() - pos);
    const auto view = std::as_bytes(std::span(in.data() + pos, n));
    pos += n;
    return view;
  });
  std::string buf(65536, '\0');
  try {
    for (;;) {
      const size_t n = d.read(std::as_writable_bytes(std::span(buf)));
      v.output.append(buf, 0, n);
      if (v.output.size() > kMaxOutput) {
        v.too_long = true;
        return v;
      }
      if (n < buf.size()) break;
    }
    v.accepted = d.read(std::as_writable_bytes(std::span(buf))) == 0 && d.unused_input() == 0 &&
                 pos == in.size();
  } catch (const bpatch::formats::Bzip2DataError&) {
    v.accepted = false;
  } catch (const bpatch::formats::Bzip2Randomised&) {
    return std::nullopt;
  }
  return v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t mode = data[0];
  std::string in(reinterpret_cast<const char*>(data + 1), size - 1);
  if (mode & 1) {
    if (in.size() < 2) return 0;
    const unsigned flip = static_cast<uint8_t>(in[in.size() - 2]) |
                          (static_cast<unsigned>(static_cast<uint8_t>(in.back())) << 8);
    in.resize(in.size() - 2);
    std::string z(in.size() + in.size() / 100 + 700, '\0');
    auto len = static_cast<unsigned>(z.size());
    const int level = 1 + (mode >> 1 & 15) % 9;
    if (BZ2_bzBuffToBuffCompress(z.data(), &len, in.data(), static_cast<unsigned>(in.size()), level,
                                 0, 0) != BZ_OK)
      abort();
    z.resize(len);
    z[flip / 8 % z.size()] ^= static_cast<char>(0x80 >> (flip % 8));
    in = z;
  }
  const size_t chunk = size_t{1} << (2 * (mode >> 5));  // 1 to 16,384 bytes
  const auto got = own(in, chunk);
  if (!got) return 0;
  const Verdict want = libbz2(in);
  if (want.too_long || got->too_long) return 0;
  if (got->accepted != want.accepted) abort();
  if (want.accepted && got->output != want.output) abort();
  return 0;
}
