// encode_bsdiff(): a BSDIFF40 patch, by Colin Percival's bsdiff algorithm.
//
// Layout (what Debian's bspatch and src/formats/bsdiff40.cpp read):
//
//   "BSDIFF40" | ctrl length | diff length | new size      (3 x int64, 32 bytes)
//   bzip2(ctrl) bzip2(diff) bzip2(extra)
//   ctrl  = *(add_len, copy_len, seek)  ; int64 sign-magnitude, little-endian
//   diff  = new - old, bytewise, for each add_len    extra = copy_len new bytes
//
// The suffix array of the old file comes from libdivsufsort (32-bit indices:
// 4 bytes per old byte, hence kBsdiffHardLimit); the scan that picks the
// approximate matches, and the forward/backward extension of each, are the
// original algorithm's, so the patches compress like bsdiff 4.x's.
#include <divsufsort.h>

#include <algorithm>
#include <cstring>

#include "bpatch/diff.hpp"
#include "bpatch/error.hpp"
#include "diff/bzip2_writer.hpp"

namespace bpatch {
namespace {

using Bytes = std::span<const unsigned char>;

int64_t match_length(Bytes a, Bytes b) {
  const size_t n = std::min(a.size(), b.size());
  size_t i = 0;
  while (i < n && a[i] == b[i]) ++i;
  return static_cast<int64_t>(i);
}

// The longest match of `target` among the suffixes of `old` listed in
// sa[lo..hi] (a sorted range): a binary search, as bsdiff's search().
int64_t search(const std::vector<saidx_t>& sa, Bytes old, Bytes target, int64_t lo, int64_t hi,
               int64_t& pos) {
  while (hi - lo >= 2) {
    const int64_t mid = lo + (hi - lo) / 2;
    const auto suffix = old.subspan(static_cast<size_t>(sa[mid]));
    const size_t n = std::min(suffix.size(), target.size());
    if (std::memcmp(suffix.data(), target.data(), n) < 0)
      lo = mid;
    else
      hi = mid;
  }
  const int64_t x = match_length(old.subspan(static_cast<size_t>(sa[lo])), target);
  const int64_t y = match_length(old.subspan(static_cast<size_t>(sa[hi])), target);
  if (x > y) {
    pos = sa[lo];
    return x;
  }
  pos = sa[hi];
  return y;
}

void put_int64(std::vector<std::byte>& out, int64_t x) {
  uint64_t y = x < 0 ? static_cast<uint64_t>(-x) : static_cast<uint64_t>(x);
  for (int i = 0; i < 8; ++i, y >>= 8) {
    auto b = static_cast<uint8_t>(y & 0xFF);
    if (i == 7 && x < 0) b |= 0x80;
    out.push_back(static_cast<std::byte>(b));
  }
}

struct Blocks {
  std::vector<std::byte> ctrl, diff, extra;
};

void scan(Bytes old, Bytes target, const std::vector<saidx_t>& sa, Blocks& blocks) {
  const auto oldsize = static_cast<int64_t>(old.size());
  const auto newsize = static_cast<int64_t>(target.size());
  int64_t scan = 0, len = 0, pos = 0, lastscan = 0, lastpos = 0, lastoffset = 0;
  const auto old_at = [&](int64_t i) { return old[static_cast<size_t>(i)]; };
  const auto new_at = [&](int64_t i) { return target[static_cast<size_t>(i)]; };
  while (scan < newsize) {
    int64_t oldscore = 0;
    int64_t scsc = scan += len;
    for (; scan < newsize; ++scan) {
      len = oldsize == 0
                ? 0
                : search(sa, old, target.subspan(static_cast<size_t>(scan)), 0, oldsize - 1, pos);
      for (; scsc < scan + len; ++scsc)
        if (scsc + lastoffset < oldsize && old_at(scsc + lastoffset) == new_at(scsc)) ++oldscore;
      if ((len == oldscore && len != 0) || len > oldscore + 8) break;
      if (scan + lastoffset < oldsize && old_at(scan + lastoffset) == new_at(scan)) --oldscore;
    }
    if (len == oldscore && scan != newsize) continue;

    // Extend the previous match forward and this one backward, as far as
    // more than half of the bytes agree; split any overlap at its best point.
    int64_t s = 0, sf = 0, lenf = 0;
    for (int64_t i = 0; lastscan + i < scan && lastpos + i < oldsize;) {
      if (old_at(lastpos + i) == new_at(lastscan + i)) ++s;
      ++i;
      if (s * 2 - i > sf * 2 - lenf) sf = s, lenf = i;
    }
    int64_t lenb = 0;
    if (scan < newsize) {
      int64_t sb = 0;
      s = 0;
      for (int64_t i = 1; scan >= lastscan + i && pos >= i; ++i) {
        if (old_at(pos - i) == new_at(scan - i)) ++s;
        if (s * 2 - i > sb * 2 - lenb) sb = s, lenb = i;
      }
    }
    if (lastscan + lenf > scan - lenb) {
      const int64_t overlap = (lastscan + lenf) - (scan - lenb);
      int64_t ss = 0, lens = 0;
      s = 0;
      for (int64_t i = 0; i < overlap; ++i) {
        if (new_at(lastscan + lenf - overlap + i) == old_at(lastpos + lenf - overlap + i)) ++s;
        if (new_at(scan - lenb + i) == old_at(pos - lenb + i)) --s;
        if (s > ss) ss = s, lens = i + 1;
      }
      lenf += lens - overlap;
      lenb -= lens;
    }
    for (int64_t i = 0; i < lenf; ++i)
      blocks.diff.push_back(static_cast<std::byte>(new_at(lastscan + i) - old_at(lastpos + i)));
    const int64_t extra_len = (scan - lenb) - (lastscan + lenf);
    for (int64_t i = 0; i < extra_len; ++i)
      blocks.extra.push_back(static_cast<std::byte>(new_at(lastscan + lenf + i)));
    put_int64(blocks.ctrl, lenf);
    put_int64(blocks.ctrl, extra_len);
    put_int64(blocks.ctrl, (pos - lenb) - (lastpos + lenf));
    lastscan = scan - lenb;
    lastpos = pos - lenb;
    lastoffset = pos - scan;
  }
}

}  // namespace

std::vector<std::byte> encode_bsdiff(std::span<const std::byte> old_bytes,
                                     std::span<const std::byte> target_bytes) {
  if (old_bytes.size() > kBsdiffHardLimit || target_bytes.size() > kBsdiffHardLimit)
    throw Error(Errc::too_large, "",
                "bsdiff handles files below 2 GiB (its suffix array is 32-bit)");
  const Bytes old(reinterpret_cast<const unsigned char*>(old_bytes.data()), old_bytes.size());
  const Bytes target(reinterpret_cast<const unsigned char*>(target_bytes.data()),
                     target_bytes.size());
  std::vector<saidx_t> sa(old.size());
  if (!old.empty() && divsufsort(old.data(), sa.data(), static_cast<saidx_t>(old.size())) != 0)
    throw Error(Errc::io, "", "divsufsort failed (out of memory?)");
  Blocks blocks;
  blocks.diff.reserve(target.size());
  scan(old, target, sa, blocks);
  sa = {};

  const auto ctrl = diff::compress_bzip2(blocks.ctrl);
  const auto diff = diff::compress_bzip2(blocks.diff);
  blocks.diff = {};
  const auto extra = diff::compress_bzip2(blocks.extra);
  std::vector<std::byte> out;
  out.reserve(32 + ctrl.size() + diff.size() + extra.size());
  for (char c : std::string_view("BSDIFF40")) out.push_back(static_cast<std::byte>(c));
  put_int64(out, static_cast<int64_t>(ctrl.size()));
  put_int64(out, static_cast<int64_t>(diff.size()));
  put_int64(out, static_cast<int64_t>(target.size()));
  out.insert(out.end(), ctrl.begin(), ctrl.end());
  out.insert(out.end(), diff.begin(), diff.end());
  out.insert(out.end(), extra.begin(), extra.end());
  return out;
}

}  // namespace bpatch
