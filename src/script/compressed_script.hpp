// A compressed `.bpatch` script: the whole text in one plain zstd frame (no
// dictionary, content size in the header), as `bpatch diff` writes a
// bundle's update.bpatch. parse_script() reads either form; apply takes a
// file with zstd's magic for a compressed script when no TARGET is given.
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
