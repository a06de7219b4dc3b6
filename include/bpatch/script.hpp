// The `.bpatch` transaction script (docs/bpatch.1, SCRIPT FORMAT): a line-based text format that
// describes one all-or-nothing transaction over many files.
//
//   bpatch 1
//   edit firmware.bin expect=xxh3:<32 hex>
//     write 0x10 hex:deadbeef
//   delta game.sfc patches/game.bps expect=xxh3:<32 hex>
//   put assets/new.dat file:blobs/new.dat mode=0644
//   remove old/legacy.dat
//
// A script may also be compressed: its whole text as one plain zstd frame
// (what `bpatch diff` writes); parse_script() reads both.
//
// parse_script() only checks syntax; it reads no file. `file:` and patch
// paths are made relative to the script's directory (script_dir). Errors are
// Error(script_syntax, script_path, "line N: …"). Reentrant.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "bpatch/transaction.hpp"

namespace bpatch {

// script_dir: the directory of the script, prefixed to relative `file:` and
// patch paths ("" keeps them as written).
std::vector<Change> parse_script(std::string_view text, const std::string& script_path,
                                 const std::string& script_dir);

// The largest text a compressed script may decode to.
constexpr uint64_t kMaxCompressedScriptSize = uint64_t{64} << 20;

}  // namespace bpatch
