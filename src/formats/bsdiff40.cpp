// Placeholder: this format's decoder has not landed yet.
#include "bpatch/error.hpp"
#include "formats/decoders.hpp"

namespace bpatch::formats {

PatchInfo inspect_bsdiff40(const Source& patch) {
  throw Error(Errc::unsupported, patch.name(), "bsdiff40 patches are not supported yet");
}
SourceCheck check_source_bsdiff40(const Source& patch, const Source&) {
  throw Error(Errc::unsupported, patch.name(), "bsdiff40 patches are not supported yet");
}
void apply_bsdiff40(const Source& patch, const Source&, Sink&) {
  throw Error(Errc::unsupported, patch.name(), "bsdiff40 patches are not supported yet");
}

}  // namespace bpatch::formats
