// The VCDIFF window decoder: reads a whole patch and streams the target,
// one window at a time, into a Sink.
//
// Memory: one target window (<= kMaxWindow, 64 MiB), its three sections as
// stored (each <= kMaxSection and never more than the patch holds), their
// secondary-decompressed forms (<= kMaxDecodedSections, 32 MiB, for the
// three together), a VCD_TARGET segment when one is used (<= kMaxWindow,
// read back from the sink), the source block cache and the secondary
// decompressors' state: for LZMA one dictionary per section kind, each
// <= 66 MiB (the memlimit; xdelta3 -9 uses 64 MiB) and resident only as far
// as bytes of that kind have been decoded. Never the whole source, target
// or patch. So a tiny patch cannot make the decoder hold more than about
// 2 x 32 MiB (sections and the dictionaries they filled) before its first
// window is refused or decoded, and 64 + 64 + 32 + 3 x 66 MiB at the most.
//
// Both VCDIFF versions are decoded: RFC 3284 as xdelta3 writes it (0) and
// open-vcdiff's extended format ('S': interleaved sections, varint Adler-32
// seeded with 0); see vcdiff_format.hpp.
//
// Errors: bad_patch for anything malformed; checksum when a window's
// adler32 does not match (wrong_source instead for the first window when
// it copies from the source: the usual cause is a different old file);
// wrong_source when the old file is too short for a window's segment;
// too_large past the limits in vcdiff_format.hpp; bad_patch for a patch
// without windows (xdelta3 always writes one). Not thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/huge_buffer.hpp"
#include "bpatch/io.hpp"
#include "formats/vcdiff_address_cache.hpp"
#include "formats/vcdiff_code_table.hpp"
#include "formats/vcdiff_header.hpp"
#include "formats/vcdiff_secondary.hpp"
#include "formats/vcdiff_source_cache.hpp"

namespace bpatch::vcdiff {

struct DecodeLimits {
  uint64_t max_output = ~uint64_t{0};  // total target bytes allowed
  bool allow_code_table = true;        // false inside a code table's own delta
};

class Decoder {
 public:
  Decoder(const Source& patch, const Source& old, Sink& out, DecodeLimits limits = {});
  // Decodes every window; throws Error on any problem (see above).
  void run();

 private:
  enum Kind { kData = 0, kInst = 1, kAddr = 2 };

  void decode_window(const WindowHeader& w, uint64_t index);
  SectionReader load_section(Kind kind, uint64_t length, bool compressed, uint64_t offset,
                             uint64_t target_length, bool interleaved = false);
  void execute(const WindowHeader& w, SectionReader& data, SectionReader& inst,
               SectionReader& addr);
  void copy_from_segment(const WindowHeader& w, uint64_t addr, uint8_t* dst, size_t n);
  [[noreturn]] void fail(Errc code, uint64_t offset, const std::string& why) const;

  const Source& patch_;
  const Source& old_;
  Sink& out_;
  DecodeLimits limits_;
  ByteReader in_;
  FileHeader header_;
  CodeTable table_;
  std::unique_ptr<AddressCache> cache_;
  SourceCache source_cache_;
  std::unique_ptr<SecondaryDecoder> secondary_[3];
  std::vector<uint8_t> raw_[3];      // sections as stored
  std::vector<uint8_t> decoded_[3];  // sections after secondary decompression
  HugeBuffer<uint8_t> target_;       // every byte is written before it is read
  std::vector<uint8_t> segment_;     // a VCD_TARGET segment
  uint64_t output_ = 0;              // target bytes written so far
  uint64_t decoded_budget_ = 0;      // decompressed section bytes the window may still use
};

// Decodes a VCD_CODETABLE header's table (a VCDIFF delta of the default
// table's string form). `name` labels errors.
CodeTable decode_code_table(const FileHeader& header, const std::string& name);

}  // namespace bpatch::vcdiff
