// Bzip2Stream: one bzip2 stream in a patch range, decoded to its verified end.
#include "formats/bsdiff_bzip2.hpp"

#include <algorithm>
#include <boost/iostreams/filter/bzip2.hpp>
#include <new>

#include "bpatch/error.hpp"

namespace bpatch::formats {

namespace bio = boost::iostreams;

namespace {
constexpr size_t kInputBuffer = 64 * 1024;
}  // namespace

// libbz2's decompressor as Boost.Iostreams wraps it. bzip2_base keeps the
// bz_stream; this class only opens it, steps it and closes it.
class Bzip2Stream::Decoder : private bio::detail::bzip2_base,
                             private bio::detail::bzip2_allocator<std::allocator<char>> {
 public:
  Decoder() : bzip2_base(bio::bzip2_params(false)) {
    init(false, static_cast<bio::detail::bzip2_allocator<std::allocator<char>>&>(*this));
  }
  ~Decoder() { end(false, std::nothrow); }

  // One BZ2_bzDecompress call: consumes from [in, in_end), produces into
  // [out, out_end), advances both pointers, returns libbz2's status.
  int step(const char*& in, const char* in_end, char*& out, char* out_end) {
    before(in, in_end, out, out_end);
    const int status = decompress();
    after(in, out);
    return status;
  }
};

Bzip2Stream::Bzip2Stream(const Source& patch, uint64_t begin, uint64_t end, std::string label,
                         std::mutex* patch_lock)
    : patch_(patch),
      begin_(begin),
      next_read_(begin),
      end_(end),
      label_(std::move(label)),
      patch_lock_(patch_lock) {
  check_range(patch, begin, end - begin);
  // The decoder takes the input a buffer at a time: all of in_ is its own.
  own_ = std::make_unique<Bzip2Decoder>([this]() -> std::span<const std::byte> {
    if (next_read_ == end_) return {};
    refill();
    const std::span<const std::byte> view(reinterpret_cast<const std::byte*>(in_pos_),
                                          static_cast<size_t>(in_end_ - in_pos_));
    in_pos_ = in_end_;
    return view;
  });
}

Bzip2Stream::~Bzip2Stream() = default;

void Bzip2Stream::fail(const std::string& what) const {
  const uint64_t offset = next_read_ - static_cast<uint64_t>(in_end_ - in_pos_);
  throw Error(Errc::bad_patch, patch_.name(),
              label_ + " (bzip2) at patch offset " + std::to_string(offset) + ", after " +
                  std::to_string(produced_) + " decoded bytes: " + what);
}

void Bzip2Stream::refill() {
  const size_t n = static_cast<size_t>(std::min<uint64_t>(kInputBuffer, end_ - next_read_));
  in_.resize(kInputBuffer);
  {
    std::unique_lock<std::mutex> lock;
    if (patch_lock_ != nullptr) lock = std::unique_lock(*patch_lock_);
    patch_.read(next_read_, std::as_writable_bytes(std::span(in_.data(), n)));
  }
  next_read_ += n;
  in_pos_ = in_.data();
  in_end_ = in_.data() + n;
}

size_t Bzip2Stream::read(std::span<std::byte> out) {
  if (finished_) return 0;
  if (own_ != nullptr) {
    try {
      return read_own(out);
    } catch (const Bzip2Randomised&) {
      switch_to_libbz2();
    }
  }
  return read_libbz2(out);
}

size_t Bzip2Stream::read_own(std::span<std::byte> out) {
  size_t n = 0;
  try {
    n = own_->read(out);
  } catch (const Bzip2DataError& e) {
    fail(e.what());
  }
  produced_ += n;
  if (n < out.size()) {
    finished_ = true;
    const uint64_t left = own_->unused_input() + (end_ - next_read_);
    if (left != 0)
      fail("the stream ends but " + std::to_string(left) +
           " more bytes follow it inside its block (trailing garbage or a second stream)");
  }
  return n;
}

// Restarts with libbz2 at the stream's first byte and skips what the own
// decoder already handed out (decoding is deterministic: the same bytes).
void Bzip2Stream::switch_to_libbz2() {
  own_.reset();
  decoder_ = std::make_unique<Decoder>();
  next_read_ = begin_;
  in_pos_ = in_end_ = nullptr;
  uint64_t skip = produced_;
  produced_ = 0;
  std::vector<std::byte> scratch(64 * 1024);
  while (skip > 0) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(skip, scratch.size()));
    const size_t got = read_libbz2(std::span(scratch.data(), want));
    if (got < want) fail("libbz2 decoded fewer bytes than bpatch's own bzip2 decoder");
    skip -= got;
  }
}

size_t Bzip2Stream::read_libbz2(std::span<std::byte> out) {
  if (finished_) return 0;
  char* const begin = reinterpret_cast<char*>(out.data());
  char* const limit = begin + out.size();
  char* pos = begin;
  while (pos < limit) {
    if (in_pos_ == in_end_ && next_read_ < end_) refill();
    const char* const in_before = in_pos_;
    char* const out_before = pos;
    const int status = decoder_->step(in_pos_, in_end_, pos, limit);
    produced_ += static_cast<uint64_t>(pos - out_before);
    if (status == bio::bzip2::stream_end) {
      finished_ = true;
      const uint64_t left = static_cast<uint64_t>(in_end_ - in_pos_) + (end_ - next_read_);
      if (left != 0)
        fail("the stream ends but " + std::to_string(left) +
             " more bytes follow it inside its block (trailing garbage or a second stream)");
      break;
    }
    if (status == bio::bzip2::data_error_magic) fail("not a bzip2 stream (bad magic bytes)");
    if (status == bio::bzip2::data_error)
      fail("corrupt data (a block or stream CRC does not match)");
    if (status == bio::bzip2::mem_error) throw std::bad_alloc();
    if (status != bio::bzip2::ok) fail("libbz2 error " + std::to_string(status));
    if (pos == out_before && in_pos_ == in_before && in_pos_ == in_end_ && next_read_ == end_)
      fail("the stream is truncated (its block ends before the end-of-stream marker)");
  }
  return static_cast<size_t>(pos - begin);
}

}  // namespace bpatch::formats
