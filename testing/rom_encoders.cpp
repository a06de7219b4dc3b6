// Test-side IPS/BPS/UPS writers and reference appliers (see rom_encoders.hpp).
#include "testing/rom_encoders.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <random>
#include <unordered_map>

namespace bpatch::testing {

Bytes to_bytes(std::string_view text) {
  Bytes out(text.size());
  if (!text.empty()) std::memcpy(out.data(), text.data(), text.size());  // memcpy(nullptr, …) is UB
  return out;
}

Bytes random_bytes(size_t size, uint32_t seed) {
  std::mt19937 rng(seed);
  Bytes out(size);
  for (auto& b : out) b = std::byte(rng() & 0xFF);
  return out;
}

uint32_t reference_crc32(std::span<const std::byte> data) {
  // The textbook byte-at-a-time table, built bit by bit from the polynomial.
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1)));
      t[i] = c;
    }
    return t;
  }();
  uint32_t crc = 0xFFFFFFFFu;
  for (std::byte b : data) crc = (crc >> 8) ^ table[(crc ^ std::to_integer<uint32_t>(b)) & 0xFF];
  return ~crc;
}

void put_u32le(Bytes& out, uint32_t value) {
  for (int i = 0; i < 4; ++i) out.push_back(std::byte((value >> (8 * i)) & 0xFF));
}

void put_beat_varint(Bytes& out, uint64_t value) {
  for (;;) {
    const uint64_t low = value & 0x7F;
    value >>= 7;
    if (value == 0) {
      out.push_back(std::byte(0x80 | low));
      return;
    }
    out.push_back(std::byte(low));
    --value;
  }
}

void fix_patch_crc(Bytes& patch) {
  patch.resize(patch.size() - 4);
  put_u32le(patch, reference_crc32(patch));
}

// ---------------------------------------------------------------- IPS

namespace {

void put_be(Bytes& out, uint32_t value, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(std::byte((value >> (8 * i)) & 0xFF));
}

constexpr uint32_t kIpsEof = 0x454F46;

}  // namespace

Bytes encode_ips(const std::vector<IpsRecord>& records, std::optional<uint32_t> truncate) {
  Bytes out = to_bytes("PATCH");
  for (const auto& r : records) {
    put_be(out, r.offset, 3);
    if (r.rle) {
      put_be(out, 0, 2);
      put_be(out, r.count, 2);
      out.push_back(r.value);
    } else {
      put_be(out, static_cast<uint32_t>(r.data.size()), 2);
      out.insert(out.end(), r.data.begin(), r.data.end());
    }
  }
  const Bytes eof = to_bytes("EOF");
  out.insert(out.end(), eof.begin(), eof.end());
  if (truncate) put_be(out, *truncate, 3);
  return out;
}

Bytes model_apply_ips(const Bytes& old, const std::vector<IpsRecord>& records,
                      std::optional<uint32_t> truncate) {
  Bytes out = old;
  for (const auto& r : records) {
    const size_t n = r.rle ? r.count : r.data.size();
    if (out.size() < r.offset + n) out.resize(r.offset + n, std::byte{0});
    for (size_t i = 0; i < n; ++i) out[r.offset + i] = r.rle ? r.value : r.data[i];
  }
  if (truncate) out.resize(*truncate, std::byte{0});
  return out;
}

IpsDiff diff_ips(const Bytes& old, const Bytes& neu) {
  IpsDiff diff;
  const auto changed = [&](size_t i) { return i >= old.size() || old[i] != neu[i]; };
  // Emits neu [begin, end) as records of at most 0xFFFF bytes, RLE for runs.
  const auto emit = [&](size_t begin, size_t end) {
    while (begin < end) {
      size_t run = 1;
      while (begin + run < end && run < 0xFFFF && neu[begin + run] == neu[begin]) ++run;
      if (begin == kIpsEof) {  // never a record at "EOF": start one byte earlier
        const size_t n = std::min<size_t>(end - begin + 1, 0xFFFF);
        diff.records.push_back(
            {kIpsEof - 1, Bytes(neu.begin() + begin - 1, neu.begin() + begin - 1 + n)});
        begin += n - 1;
      } else if (run >= 8) {
        diff.records.push_back(
            {static_cast<uint32_t>(begin), {}, true, static_cast<uint16_t>(run), neu[begin]});
        begin += run;
      } else {
        size_t n = 0;  // plain bytes up to the next run of 8
        while (begin + n < end && n < 0xFFFF) {
          size_t r = 1;
          while (begin + n + r < end && r < 8 && neu[begin + n + r] == neu[begin + n]) ++r;
          if (r >= 8 && n > 0) break;
          n = std::min<size_t>(n + (r >= 8 ? 1 : r), 0xFFFF);
        }
        diff.records.push_back(
            {static_cast<uint32_t>(begin), Bytes(neu.begin() + begin, neu.begin() + begin + n)});
        begin += n;
      }
    }
  };
  size_t i = 0;
  while (i < neu.size()) {
    if (!changed(i)) {
      ++i;
      continue;
    }
    size_t end = i + 1;  // extend over gaps of fewer than 6 unchanged bytes
    for (size_t same = 0; end + same < neu.size();) {
      if (changed(end + same)) {
        end += same + 1;
        same = 0;
      } else if (++same >= 6) {
        break;
      }
    }
    emit(i, end);
    i = end;
  }
  if (neu.size() < old.size()) diff.truncate = static_cast<uint32_t>(neu.size());
  return diff;
}

// ---------------------------------------------------------------- BPS

Bytes encode_bps(const BpsHeaderSpec& header, const std::vector<BpsAction>& actions) {
  Bytes out = to_bytes("BPS1");
  put_beat_varint(out, header.source_size);
  put_beat_varint(out, header.target_size);
  put_beat_varint(out, header.metadata.size());
  const Bytes meta = to_bytes(header.metadata);
  out.insert(out.end(), meta.begin(), meta.end());
  for (const auto& a : actions) {
    const uint64_t length = a.op == BpsOp::target_read ? a.data.size() : a.length;
    put_beat_varint(out, (length - 1) << 2 | static_cast<uint64_t>(a.op));
    if (a.op == BpsOp::target_read) out.insert(out.end(), a.data.begin(), a.data.end());
    if (a.op == BpsOp::source_copy || a.op == BpsOp::target_copy) {
      const uint64_t magnitude = a.relative < 0 ? 0 - static_cast<uint64_t>(a.relative)
                                                : static_cast<uint64_t>(a.relative);
      put_beat_varint(out, magnitude << 1 | (a.relative < 0 ? 1 : 0));
    }
  }
  put_u32le(out, header.source_crc);
  put_u32le(out, header.target_crc);
  put_u32le(out, reference_crc32(out));
  return out;
}

std::vector<BpsAction> diff_bps_actions(const Bytes& old, const Bytes& neu) {
  constexpr size_t kMin = 6;
  const auto key = [](const Bytes& b, size_t at) {
    uint64_t k = 0;
    for (size_t i = 0; i < kMin; ++i) k = k << 8 | std::to_integer<uint64_t>(b[at + i]);
    return k;
  };
  std::unordered_map<uint64_t, size_t> in_old, in_new;
  for (size_t i = 0; i + kMin <= old.size(); ++i) in_old.emplace(key(old, i), i);

  std::vector<BpsAction> actions;
  Bytes literal;
  int64_t source_cursor = 0, target_cursor = 0;
  const auto flush_literal = [&] {
    if (literal.empty()) return;
    actions.push_back({BpsOp::target_read, literal.size(), 0, literal});
    literal.clear();
  };
  const auto match = [&](const Bytes& from, size_t at, size_t t) {
    size_t n = 0;
    while (at + n < from.size() && t + n < neu.size() && from[at + n] == neu[t + n]) ++n;
    return n;
  };
  size_t t = 0, indexed = 0;
  while (t < neu.size()) {
    for (; indexed + kMin <= t; ++indexed) in_new.emplace(key(neu, indexed), indexed);
    BpsOp best_op = BpsOp::target_read;
    size_t best_len = 0, best_at = 0;
    if (t < old.size()) {
      const size_t n = match(old, t, t);
      if (n >= 4) best_op = BpsOp::source_read, best_len = n;
    }
    if (t > 0) {  // a run: overlapping TargetCopy from one byte back
      const size_t n = match(neu, t - 1, t);
      if (n >= 8 && n > best_len) best_op = BpsOp::target_copy, best_len = n, best_at = t - 1;
    }
    if (t + kMin <= neu.size()) {
      if (auto it = in_old.find(key(neu, t)); it != in_old.end()) {
        const size_t n = match(old, it->second, t);
        if (n > best_len + 4) best_op = BpsOp::source_copy, best_len = n, best_at = it->second;
      }
      if (auto it = in_new.find(key(neu, t)); it != in_new.end()) {
        const size_t n = match(neu, it->second, t);
        if (n > best_len + 4) best_op = BpsOp::target_copy, best_len = n, best_at = it->second;
      }
    }
    if (best_len == 0) {
      literal.push_back(neu[t++]);
      continue;
    }
    flush_literal();
    BpsAction a{best_op, best_len, 0, {}};
    if (best_op == BpsOp::source_copy) {
      a.relative = static_cast<int64_t>(best_at) - source_cursor;
      source_cursor = static_cast<int64_t>(best_at + best_len);
    } else if (best_op == BpsOp::target_copy) {
      a.relative = static_cast<int64_t>(best_at) - target_cursor;
      target_cursor = static_cast<int64_t>(best_at + best_len);
    }
    actions.push_back(std::move(a));
    t += best_len;
  }
  flush_literal();
  return actions;
}

Bytes diff_bps(const Bytes& old, const Bytes& neu, const std::string& metadata) {
  BpsHeaderSpec h{old.size(), neu.size(), reference_crc32(old), reference_crc32(neu), metadata};
  return encode_bps(h, diff_bps_actions(old, neu));
}

Bytes model_apply_bps(const Bytes& old, const std::vector<BpsAction>& actions) {
  Bytes out;
  int64_t source_cursor = 0, target_cursor = 0;
  for (const auto& a : actions) {
    switch (a.op) {
      case BpsOp::source_read:
        for (uint64_t i = 0; i < a.length; ++i) out.push_back(old[out.size()]);
        break;
      case BpsOp::target_read:
        out.insert(out.end(), a.data.begin(), a.data.end());
        break;
      case BpsOp::source_copy:
        source_cursor += a.relative;
        for (uint64_t i = 0; i < a.length; ++i) out.push_back(old[source_cursor++]);
        break;
      case BpsOp::target_copy:
        target_cursor += a.relative;
        for (uint64_t i = 0; i < a.length; ++i) out.push_back(out[target_cursor++]);
        break;
    }
  }
  return out;
}

// ---------------------------------------------------------------- UPS

Bytes encode_ups(const UpsHeaderSpec& header, const std::vector<UpsHunk>& hunks) {
  Bytes out = to_bytes("UPS1");
  put_beat_varint(out, header.input_size);
  put_beat_varint(out, header.output_size);
  for (const auto& h : hunks) {
    put_beat_varint(out, h.skip);
    out.insert(out.end(), h.xor_bytes.begin(), h.xor_bytes.end());
    out.push_back(std::byte{0});
  }
  put_u32le(out, header.input_crc);
  put_u32le(out, header.output_crc);
  put_u32le(out, reference_crc32(out));
  return out;
}

Bytes diff_ups(const Bytes& old, const Bytes& neu) {
  const size_t size = std::max(old.size(), neu.size());
  const auto at = [](const Bytes& b, size_t i) { return i < b.size() ? b[i] : std::byte{0}; };
  std::vector<UpsHunk> hunks;
  size_t last = 0;  // position after the previous hunk's terminator
  for (size_t i = 0; i < size;) {
    if (at(old, i) == at(neu, i)) {
      ++i;
      continue;
    }
    UpsHunk h{i - last, {}};
    while (i < size && at(old, i) != at(neu, i))
      h.xor_bytes.push_back(at(old, i) ^ at(neu, i)), ++i;
    hunks.push_back(std::move(h));
    last = ++i;  // the terminator covers one equal byte (or the end)
  }
  return encode_ups({old.size(), neu.size(), reference_crc32(old), reference_crc32(neu)}, hunks);
}

}  // namespace bpatch::testing
