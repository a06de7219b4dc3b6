// decompress_script(): see compressed_script.hpp.
#include "script/compressed_script.hpp"

#include <zstd.h>

#include "bpatch/error.hpp"
#include "bpatch/script.hpp"

namespace bpatch {
namespace script {

std::optional<std::string> decompress_script(std::string_view bytes, const std::string& script_path,
                                             uint64_t max_size) {
  if (bytes.size() < 4 || bytes.substr(0, 4) != std::string_view("\x28\xB5\x2F\xFD", 4))
    return std::nullopt;
  // The decoded size comes from the frame header and is checked before any
  // memory is given to it (a tiny file cannot ask for gigabytes).
  const unsigned long long size = ZSTD_getFrameContentSize(bytes.data(), bytes.size());
  if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN)
    throw Error(Errc::script_syntax, script_path,
                "a zstd frame without its content size is not a compressed script");
  if (size > max_size)
    throw Error(Errc::too_large, script_path,
                "the compressed script says it decodes to " + std::to_string(size) +
                    " bytes, more than the limit of " + std::to_string(max_size));
  std::string text(static_cast<size_t>(size), '\0');
  const size_t got = ZSTD_decompress(text.data(), text.size(), bytes.data(), bytes.size());
  if (ZSTD_isError(got) || got != size)
    throw Error(Errc::script_syntax, script_path,
                std::string("is a zstd frame but not a compressed script (") +
                    (ZSTD_isError(got) ? ZSTD_getErrorName(got) : "short content") +
                    "): a damaged script, or a zstd patch given without its TARGET");
  if (!text.starts_with("bpatch"))
    throw Error(Errc::script_syntax, script_path,
                "is a zstd frame whose content is not a .bpatch script");
  return text;
}

}  // namespace script
}  // namespace bpatch
