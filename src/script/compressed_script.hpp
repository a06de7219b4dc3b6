// A compressed `.bpatch` script: the whole text in one plain zstd frame (no
// dictionary, content size in the header), as `bpatch diff` writes the
// update.bpatch of a large bundle. parse_script() reads either form; apply
// tells a compressed script from a zstd patch (same magic) by decoding it on
// its own: a patch-from frame cannot be decoded without its old file, and a
// script's text starts with "bpatch".
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace bpatch::script {

// The text of a compressed script, or nullopt when `bytes` is not one (no
// zstd magic). Throws Error(script_syntax / too_large, script_path) for a
// zstd frame that is damaged, larger than `max_size` decoded, or not a
// script.
std::optional<std::string> decompress_script(std::string_view bytes, const std::string& script_path,
                                             uint64_t max_size);

}  // namespace bpatch::script
