// Control triples and the TripleApplier shared by the two bsdiff formats.
#include "formats/bsdiff_apply.hpp"

#include <algorithm>
#include <array>
#include <cstring>

#include "bpatch/error.hpp"

namespace bpatch::formats {
namespace {

constexpr size_t kOutBuffer = 256 * 1024;  // bytes handed to the sink at once
constexpr size_t kOldWindow = 128 * 1024;  // most bytes of the old file read at once
constexpr size_t kMinOldRead = 512;        // least bytes read on a miss

// dst[i] = a[i] + b[i] mod 256, eight bytes at a time without carries
// crossing byte lanes: add the low 7 bits of each lane, then xor in the
// lanes' top bits.
void add_bytes(std::byte* dst, const std::byte* a, const std::byte* b, size_t n) {
  constexpr uint64_t kLow7 = 0x7f7f7f7f7f7f7f7fULL;
  constexpr uint64_t kHigh = 0x8080808080808080ULL;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t x, y;
    std::memcpy(&x, a + i, 8);
    std::memcpy(&y, b + i, 8);
    const uint64_t sum = ((x & kLow7) + (y & kLow7)) ^ ((x ^ y) & kHigh);
    std::memcpy(dst + i, &sum, 8);
  }
  for (; i < n; ++i)
    dst[i] = static_cast<std::byte>(static_cast<uint8_t>(a[i]) + static_cast<uint8_t>(b[i]));
}

std::string where(uint64_t index, uint64_t new_pos) {
  return "control triple #" + std::to_string(index) + " (new offset " + std::to_string(new_pos) +
         ")";
}

}  // namespace

int64_t offtin(std::span<const std::byte, 8> bytes) {
  uint64_t magnitude = 0;
  for (size_t i = 8; i-- > 0;) magnitude = (magnitude << 8) | static_cast<uint8_t>(bytes[i]);
  const bool negative = (magnitude >> 63) != 0;
  const auto value = static_cast<int64_t>(magnitude & ~(uint64_t{1} << 63));
  return negative ? -value : value;
}

bool read_triple(DecodedStream& ctrl, uint64_t index, const std::string& patch_name,
                 ControlTriple& triple) {
  std::array<std::byte, 24> raw{};
  size_t got = 0;
  while (got < raw.size()) {
    const auto view = ctrl.next(raw.size() - got);
    if (view.empty()) break;
    std::memcpy(raw.data() + got, view.data(), view.size());
    got += view.size();
  }
  if (got == 0) return false;
  if (got < raw.size())
    throw Error(Errc::bad_patch, patch_name,
                "the control stream ends inside control triple #" + std::to_string(index) + " (" +
                    std::to_string(got) + " of its 24 bytes)");
  const std::span<const std::byte, 24> all(raw);
  triple.add = offtin(all.subspan<0, 8>());
  triple.copy = offtin(all.subspan<8, 8>());
  triple.seek = offtin(all.subspan<16, 8>());
  return true;
}

void expect_control_end(DecodedStream& ctrl, const std::string& patch_name,
                        const std::string& context) {
  std::array<std::byte, 24> raw{};
  size_t got = 0;
  while (got < raw.size()) {
    const auto view = ctrl.next(raw.size() - got);
    if (view.empty()) break;
    std::memcpy(raw.data() + got, view.data(), view.size());
    got += view.size();
  }
  const bool zero_triple =
      got == raw.size() &&
      std::all_of(raw.begin(), raw.end(), [](std::byte b) { return b == std::byte{0}; });
  ctrl.expect_end(patch_name, context, zero_triple ? 0 : got);
}

void check_triple_lengths(const ControlTriple& t, uint64_t index, uint64_t new_pos,
                          uint64_t new_size, const std::string& patch_name) {
  auto fail = [&](const std::string& what) {
    throw Error(Errc::bad_patch, patch_name, where(index, new_pos) + ": " + what);
  };
  if (t.add < 0) fail("negative diff length " + std::to_string(t.add));
  if (t.copy < 0) fail("negative extra length " + std::to_string(t.copy));
  const uint64_t left = new_size - new_pos;
  const auto add = static_cast<uint64_t>(t.add);
  const auto copy = static_cast<uint64_t>(t.copy);
  if (add > left || copy > left - add)
    fail("diff length " + std::to_string(add) + " + extra length " + std::to_string(copy) +
         " run past the new size " + std::to_string(new_size));
}

TripleApplier::TripleApplier(const Source& old, Sink& out, uint64_t new_size,
                             std::string patch_name)
    : old_(old),
      out_(out),
      new_size_(new_size),
      patch_name_(std::move(patch_name)),
      out_buf_(static_cast<size_t>(std::min<uint64_t>(new_size, kOutBuffer))) {}

void TripleApplier::apply(const ControlTriple& t, uint64_t index, DecodedStream& diff,
                          DecodedStream& extra) {
  check_triple_lengths(t, index, new_pos_, new_size_, patch_name_);
  const auto add = static_cast<uint64_t>(t.add);
  const auto copy = static_cast<uint64_t>(t.copy);
  if (add > 0) {
    const uint64_t old_size = old_.size();
    if (old_pos_ < 0 || static_cast<uint64_t>(old_pos_) > old_size ||
        add > old_size - static_cast<uint64_t>(old_pos_))
      throw Error(Errc::wrong_source, old_.name(),
                  where(index, new_pos_) + " of " + patch_name_ + " combines old bytes [" +
                      std::to_string(old_pos_) + ", +" + std::to_string(add) +
                      ") but the old file has " + std::to_string(old_size) +
                      " bytes: is this the file the patch was made for?");
  }
  int64_t next_old = 0;
  if (__builtin_add_overflow(old_pos_, t.add, &next_old) ||
      __builtin_add_overflow(next_old, t.seek, &next_old))
    throw Error(Errc::bad_patch, patch_name_,
                where(index, new_pos_) + ": seek " + std::to_string(t.seek) +
                    " overflows the old position");
  add_from_diff(add, index, diff);
  copy_from_extra(copy, index, extra);
  old_pos_ = next_old;
}

void TripleApplier::flush() {
  if (out_len_ == 0) return;
  out_.write(std::span(out_buf_.data(), out_len_));
  out_len_ = 0;
}

// A miss reads what the current add still needs plus some lookahead. The
// lookahead doubles while misses stay near the last read (the usual forward
// walk through the old file) and drops to kMinOldRead when they jump (a patch
// of many tiny adds all over the old file, where a large read would be waste).
std::span<const std::byte> TripleApplier::old_view(uint64_t pos, size_t max, uint64_t needed) {
  if (pos < old_buf_start_ || pos >= old_buf_start_ + old_buf_len_) {
    if (old_buf_.empty())
      old_buf_.resize(static_cast<size_t>(std::min<uint64_t>(old_.size(), kOldWindow)));
    const bool near =
        pos + kOldWindow >= old_buf_start_ && pos <= old_buf_start_ + old_buf_len_ + kOldWindow;
    lookahead_ = near ? std::clamp(lookahead_ * 2, kMinOldRead, kOldWindow) : kMinOldRead;
    const uint64_t want = std::max<uint64_t>(needed, lookahead_);
    old_buf_len_ =
        static_cast<size_t>(std::min<uint64_t>({want, old_buf_.size(), old_.size() - pos}));
    old_buf_start_ = pos;
    old_.read(pos, std::span(old_buf_.data(), old_buf_len_));
  }
  const size_t at = static_cast<size_t>(pos - old_buf_start_);
  return std::span<const std::byte>(old_buf_.data() + at, std::min(max, old_buf_len_ - at));
}

void TripleApplier::add_from_diff(uint64_t length, uint64_t index, DecodedStream& diff) {
  uint64_t left = length;
  while (left > 0) {
    if (out_len_ == out_buf_.size()) flush();
    const auto d =
        diff.next(static_cast<size_t>(std::min<uint64_t>(left, out_buf_.size() - out_len_)));
    if (d.empty()) stream_ended(diff, index, left);
    size_t done = 0;
    while (done < d.size()) {
      const auto o = old_view(static_cast<uint64_t>(old_pos_) + (length - left) + done,
                              d.size() - done, left - done);
      add_bytes(out_buf_.data() + out_len_, d.data() + done, o.data(), o.size());
      out_len_ += o.size();
      done += o.size();
    }
    left -= d.size();
    new_pos_ += d.size();
  }
}

void TripleApplier::copy_from_extra(uint64_t length, uint64_t index, DecodedStream& extra) {
  uint64_t left = length;
  while (left > 0) {
    if (out_len_ == out_buf_.size()) flush();
    const auto e =
        extra.next(static_cast<size_t>(std::min<uint64_t>(left, out_buf_.size() - out_len_)));
    if (e.empty()) stream_ended(extra, index, left);
    std::memcpy(out_buf_.data() + out_len_, e.data(), e.size());
    out_len_ += e.size();
    left -= e.size();
    new_pos_ += e.size();
  }
}

void TripleApplier::stream_ended(const DecodedStream& stream, uint64_t index,
                                 uint64_t missing) const {
  throw Error(Errc::bad_patch, patch_name_,
              "the " + stream.label() + " ends " + std::to_string(missing) +
                  " bytes short during " + where(index, new_pos_));
}

}  // namespace bpatch::formats
