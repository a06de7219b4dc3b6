// compress_bzip2(): see bzip2_writer.hpp.
#include "diff/bzip2_writer.hpp"

#include <bzlib.h>

#include <algorithm>
#include <climits>
#include <string>

#include "bpatch/error.hpp"

namespace bpatch::diff {
namespace {

[[noreturn]] void fail(int code, const char* what) {
  throw Error(Errc::io, "",
              std::string("bzip2: ") + what + " failed (" + std::to_string(code) + ")");
}

}  // namespace

std::vector<std::byte> compress_bzip2(std::span<const std::byte> data) {
  bz_stream strm{};
  int rc = BZ2_bzCompressInit(&strm, /*blockSize100k=*/9, /*verbosity=*/0, /*workFactor=*/0);
  if (rc != BZ_OK) fail(rc, "init");
  // bzip2 grows incompressible input by ~1%; start there and grow as needed.
  std::vector<std::byte> out(data.size() + data.size() / 100 + 600);
  size_t in_pos = 0, out_pos = 0;
  // avail_in/avail_out are 32-bit: feed at most 1 GiB at a time.
  constexpr size_t kChunk = size_t{1} << 30;
  while (true) {
    const size_t in_now = std::min(kChunk, data.size() - in_pos);
    strm.next_in = const_cast<char*>(reinterpret_cast<const char*>(data.data() + in_pos));
    strm.avail_in = static_cast<unsigned>(in_now);
    if (out.size() - out_pos < 4096) out.resize(out.size() + out.size() / 2 + 4096);
    const size_t out_now = std::min(kChunk, out.size() - out_pos);
    strm.next_out = reinterpret_cast<char*>(out.data() + out_pos);
    strm.avail_out = static_cast<unsigned>(out_now);
    const bool last = in_pos + in_now == data.size();
    rc = BZ2_bzCompress(&strm, last ? BZ_FINISH : BZ_RUN);
    in_pos += in_now - strm.avail_in;
    out_pos += out_now - strm.avail_out;
    if (rc == BZ_STREAM_END) break;
    if (rc != BZ_RUN_OK && rc != BZ_FINISH_OK) {
      BZ2_bzCompressEnd(&strm);
      fail(rc, "compress");
    }
  }
  BZ2_bzCompressEnd(&strm);
  out.resize(out_pos);
  return out;
}

}  // namespace bpatch::diff
