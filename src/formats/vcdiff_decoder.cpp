// VCDIFF window decoding: section loading (with secondary decompression),
// instruction execution, checksum verification, streaming to the sink.
#include "formats/vcdiff_decoder.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "bpatch/error.hpp"
#include "formats/vcdiff_adler32.hpp"
#include "formats/vcdiff_format.hpp"

namespace bpatch::vcdiff {
namespace {

const char* const kKindName[3] = {"data", "instruction", "address"};

// Copies n bytes from buf[src] to buf[dst] (src < dst) front to back, so an
// overlapping copy repeats the pattern between them (RFC 3284 §3).
void copy_forward(uint8_t* buf, size_t src, size_t dst, size_t n) {
  const size_t distance = dst - src;
  if (distance >= n) {
    std::memcpy(buf + dst, buf + src, n);
  } else if (distance == 1) {
    std::memset(buf + dst, buf[src], n);
  } else {
    while (n > 0) {  // each chunk reads only bytes already written
      const size_t take = std::min(n, distance);
      std::memcpy(buf + dst, buf + src, take);
      src += take;
      dst += take;
      n -= take;
    }
  }
}

}  // namespace

Decoder::Decoder(const Source& patch, const Source& old, Sink& out, DecodeLimits limits)
    : patch_(patch), old_(old), out_(out), limits_(limits), in_(patch), source_cache_(old) {}

void Decoder::fail(Errc code, uint64_t offset, const std::string& why) const {
  throw Error(code, patch_.name(), "at offset " + std::to_string(offset) + ": " + why);
}

void Decoder::run() {
  header_ = read_file_header(in_);
  if (header_.has_code_table) {
    if (!limits_.allow_code_table)
      fail(Errc::bad_patch, 4, "a custom code table's delta may not carry its own code table");
    table_ = decode_code_table(header_, patch_.name());
  } else {
    table_ = CodeTable::standard();
  }
  cache_ = std::make_unique<AddressCache>(table_.near_size, table_.same_size);
  uint64_t index = 0;
  for (; in_.remaining() > 0; ++index) {
    const WindowHeader w = read_window_header(in_, header_, output_);
    decode_window(w, index);
  }
  // xdelta3 writes a window even for an empty target; a patch that stops
  // right after its header has lost its windows.
  if (index == 0) fail(Errc::bad_patch, in_.offset(), "the patch has no windows (truncated?)");
}

SectionReader Decoder::load_section(Kind kind, uint64_t length, bool compressed, uint64_t offset,
                                    uint64_t target_length, bool interleaved) {
  std::vector<uint8_t>& raw = raw_[kind];
  raw.resize(static_cast<size_t>(length));
  in_.read(std::as_writable_bytes(std::span(raw)));
  if (!compressed) return SectionReader(raw, &patch_.name(), offset, kKindName[kind]);

  SectionReader framing(raw, &patch_.name(), offset, kKindName[kind]);
  const uint64_t size = framing.integer();
  // A section never needs more than this for a window of target_length
  // bytes: each data byte yields at least one target byte, an instruction
  // at most 2 bytes per target byte, an address at most 10; an interleaved
  // section holds all three.
  const uint64_t per_byte[3] = {1, 2, 10};
  const uint64_t factor = interleaved ? 13 : per_byte[kind];
  const uint64_t limit = std::min(kMaxSection, factor * target_length + (kind == kData ? 0 : 64));
  if (size == 0) framing.fail("is compressed but declares 0 bytes");
  if (size > limit)
    framing.fail("declares " + std::to_string(size) + " decompressed bytes, more than the " +
                 std::to_string(limit) + " a " + std::to_string(target_length) +
                 "-byte window can use");
  if (size > decoded_budget_)
    throw Error(Errc::too_large, patch_.name(),
                std::string(kKindName[kind]) + " section at offset " + std::to_string(offset) +
                    " declares " + std::to_string(size) +
                    " decompressed bytes: the window's compressed sections would decode to more "
                    "than " +
                    std::to_string(kMaxDecodedSections) + " bytes");
  decoded_budget_ -= size;
  if (!secondary_[kind]) secondary_[kind] = make_secondary(*header_.secondary_id);
  std::vector<uint8_t>& dec = decoded_[kind];
  dec.resize(static_cast<size_t>(size));
  try {
    secondary_[kind]->decode(std::span(framing.pos(), framing.remaining()), dec);
  } catch (const Error& e) {
    throw Error(e.code(), patch_.name(),
                std::string(kKindName[kind]) + " section at offset " + std::to_string(offset) +
                    ": " + e.message());
  }
  return SectionReader(dec, &patch_.name(), offset, kKindName[kind]);
}

void Decoder::decode_window(const WindowHeader& w, uint64_t index) {
  const std::string label = "window " + std::to_string(index);
  if (w.uses_source() &&
      (w.segment_offset > old_.size() || w.segment_length > old_.size() - w.segment_offset))
    fail(Errc::wrong_source, w.offset,
         label + " copies bytes [" + std::to_string(w.segment_offset) + ", +" +
             std::to_string(w.segment_length) + ") of the old file, which has only " +
             std::to_string(old_.size()) + " bytes");
  if (w.target_length > limits_.max_output - output_)
    fail(Errc::bad_patch, w.offset,
         label + " makes the output longer than " + std::to_string(limits_.max_output) + " bytes");
  if (w.uses_target()) {
    segment_.resize(static_cast<size_t>(w.segment_length));
    out_.read_back(w.segment_offset, std::as_writable_bytes(std::span(segment_)));
  }

  const uint64_t inst_at = w.sections_offset + w.data_length;
  const uint64_t addr_at = inst_at + w.inst_length;
  decoded_budget_ = kMaxDecodedSections;
  if (w.interleaved) {
    // open-vcdiff's interleaved window: one section feeds all three readers,
    // in the order execute() consumes them (see vcdiff_format.hpp).
    SectionReader all = load_section(kInst, w.inst_length, w.delta_indicator & kDeltaInst, inst_at,
                                     w.target_length, true);
    target_.resize_discard(
        static_cast<size_t>(w.target_length));  // after the sections: a lower peak
    execute(w, all, all, all);
  } else {
    SectionReader data = load_section(kData, w.data_length, w.delta_indicator & kDeltaData,
                                      w.sections_offset, w.target_length);
    SectionReader inst = load_section(kInst, w.inst_length, w.delta_indicator & kDeltaInst, inst_at,
                                      w.target_length);
    SectionReader addr = load_section(kAddr, w.addr_length, w.delta_indicator & kDeltaAddr, addr_at,
                                      w.target_length);
    target_.resize_discard(
        static_cast<size_t>(w.target_length));  // after the sections: a lower peak
    execute(w, data, inst, addr);
  }

  if (w.adler32) {
    const uint32_t actual = adler32(w.adler32_seed, target_.data(), target_.size());
    if (actual != *w.adler32) {
      const bool blame_source = index == 0 && w.uses_source();
      char buf[96];
      std::snprintf(buf, sizeof buf, " decodes to adler32 %08x, the patch says %08x", actual,
                    *w.adler32);
      fail(blame_source ? Errc::wrong_source : Errc::checksum, w.offset,
           label + buf +
               (blame_source ? std::string(" (the old file is not the one the patch was made from)")
                             : std::string()));
    }
  }
  out_.write(std::as_bytes(std::span(target_.data(), target_.size())));
  output_ += w.target_length;
}

void Decoder::copy_from_segment(const WindowHeader& w, uint64_t addr, uint8_t* dst, size_t n) {
  if (w.uses_source())
    source_cache_.read(w.segment_offset + addr, dst, n);
  else
    std::memcpy(dst, segment_.data() + addr, n);
}

void Decoder::execute(const WindowHeader& w, SectionReader& data, SectionReader& inst,
                      SectionReader& addr) {
  cache_->reset();
  uint8_t* const tgt = target_.data();
  const uint64_t seg = w.segment_length;
  const size_t total = target_.size();
  size_t pos = 0;
  while (!inst.empty()) {
    const CodeEntry& entry = table_.entries[inst.byte()];
    for (const HalfInst* half : {&entry.first, &entry.second}) {
      if (half->type == kNoop) continue;
      const uint64_t size = half->size != 0 ? half->size : inst.integer();
      if (size > total - pos)
        inst.fail("has an instruction of " + std::to_string(size) + " bytes at target byte " +
                  std::to_string(pos) + " of a " + std::to_string(total) + "-byte window");
      const size_t n = static_cast<size_t>(size);
      switch (half->type) {
        case kAdd: {
          const uint8_t* bytes = data.take(n);
          if (n != 0) std::memcpy(tgt + pos, bytes, n);
          break;
        }
        case kRun: {
          const uint8_t value = data.byte();
          if (n != 0) std::memset(tgt + pos, value, n);
          break;
        }
        default: {
          const uint64_t a = cache_->decode(seg + pos, half->mode, addr);
          if (n == 0) break;  // a zero-length COPY still updates the address cache
          if (a < seg) {
            const size_t from_segment = static_cast<size_t>(std::min<uint64_t>(size, seg - a));
            copy_from_segment(w, a, tgt + pos, from_segment);
            // A copy may run on from the segment into the target window.
            if (from_segment < n) copy_forward(tgt, 0, pos + from_segment, n - from_segment);
          } else {
            copy_forward(tgt, static_cast<size_t>(a - seg), pos, n);
          }
        }
      }
      pos += n;
    }
  }
  if (pos != total)
    inst.fail("ends after " + std::to_string(pos) + " target bytes; the window header says " +
              std::to_string(total));
  if (!data.empty()) data.fail("has " + std::to_string(data.remaining()) + " unused bytes");
  if (!addr.empty()) addr.fail("has " + std::to_string(addr.remaining()) + " unused bytes");
}

CodeTable decode_code_table(const FileHeader& header, const std::string& name) {
  const auto& base_bytes = CodeTable::standard_bytes();
  MemorySource delta(std::as_bytes(std::span(header.code_table_delta)), name);
  MemorySource base(std::as_bytes(std::span(base_bytes)), "<default code table>");
  MemorySink sink;
  try {
    Decoder nested(delta, base, sink, DecodeLimits{kCodeTableBytes, false});
    nested.run();
  } catch (const Error& e) {
    throw Error(Errc::bad_patch, name, "custom code table: " + e.message());
  }
  if (sink.size() != kCodeTableBytes)
    throw Error(Errc::bad_patch, name,
                "custom code table decodes to " + std::to_string(sink.size()) + " bytes, not 1536");
  std::array<uint8_t, kCodeTableBytes> bytes;
  std::memcpy(bytes.data(), sink.data().data(), kCodeTableBytes);
  return CodeTable::from_bytes(bytes, header.near_size, header.same_size, name);
}

}  // namespace bpatch::vcdiff
