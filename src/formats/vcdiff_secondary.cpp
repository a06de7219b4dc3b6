// The secondary compressor registry and the shared bit reader.
#include "formats/vcdiff_secondary.hpp"

#include "bpatch/error.hpp"
#include "formats/vcdiff_format.hpp"

namespace bpatch::vcdiff {

void BitReader::fail_end() { throw Error(Errc::bad_patch, "", "compressed section ends early"); }

std::optional<std::string> secondary_name(uint8_t id) {
  switch (id) {
    case kSecondaryDjw:
      return "djw";
    case kSecondaryLzma:
      return "lzma";
    case kSecondaryFgk:
      return "fgk";
    default:
      return std::nullopt;
  }
}

std::unique_ptr<SecondaryDecoder> make_secondary(uint8_t id) {
  switch (id) {
    case kSecondaryDjw:
      return make_djw_decoder();
    case kSecondaryLzma:
      return make_lzma_decoder();
    case kSecondaryFgk:
      return make_fgk_decoder();
    default:
      return nullptr;
  }
}

}  // namespace bpatch::vcdiff
