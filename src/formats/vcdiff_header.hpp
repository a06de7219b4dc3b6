// Parsing of the VCDIFF file header and window headers (grammar in
// vcdiff_format.hpp), shared by inspection and decoding. Every integer is
// bounded, every length checked against what remains of the patch.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bpatch/io.hpp"

namespace bpatch::vcdiff {

struct FileHeader {
  uint8_t version = 0;  // kVersionRfc or kVersionOpenVcdiff
  uint8_t indicator = 0;
  std::optional<uint8_t> secondary_id;  // VCD_DECOMPRESS
  bool has_code_table = false;          // VCD_CODETABLE
  uint8_t near_size = 4;
  uint8_t same_size = 3;
  std::vector<uint8_t> code_table_delta;  // a whole VCDIFF file (RFC 3284 §7)
  std::optional<std::string> app_header;  // VCD_APPHEADER
};

// Reads the header at the reader's position (0). Throws bad_patch for a
// bad magic or malformed field, unsupported for a version other than 0 and
// 'S' or an unknown secondary compressor, too_large for oversized fields.
FileHeader read_file_header(ByteReader& in);

struct WindowHeader {
  uint64_t offset = 0;  // patch offset of the window indicator
  uint8_t indicator = 0;
  uint64_t segment_length = 0;  // VCD_SOURCE / VCD_TARGET
  uint64_t segment_offset = 0;
  uint64_t target_length = 0;
  uint8_t delta_indicator = 0;
  uint64_t data_length = 0;
  uint64_t inst_length = 0;
  uint64_t addr_length = 0;
  std::optional<uint32_t> adler32;  // VCD_ADLER32 (xdelta3) / VCD_CHECKSUM (open-vcdiff)
  uint32_t adler32_seed = 1;        // 1 (xdelta3) or 0 (open-vcdiff)
  bool interleaved = false;         // version 'S' with empty data and address sections
  uint64_t sections_offset = 0;     // patch offset of the data section

  bool uses_source() const;
  bool uses_target() const;
};

// Reads a window header at the reader's position and leaves the reader at
// its data section. Checks that the sections fit in the patch and agree with
// the encoding length, that the target window and any VCD_TARGET segment are
// at most kMaxWindow (else too_large), that a VCD_TARGET segment lies in
// `output_so_far`, and that delta-indicator bits need a secondary compressor.
WindowHeader read_window_header(ByteReader& in, const FileHeader& header, uint64_t output_so_far);

// A VCDIFF integer from the patch, for field `what`.
uint64_t read_integer(ByteReader& in, const char* what);

}  // namespace bpatch::vcdiff
