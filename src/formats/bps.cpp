// Placeholder: this format's decoder has not landed yet.
#include "bpatch/error.hpp"
#include "formats/decoders.hpp"

namespace bpatch::formats {

PatchInfo inspect_bps(const Source& patch) {
  throw Error(Errc::unsupported, patch.name(), "bps patches are not supported yet");
}
SourceCheck check_source_bps(const Source& patch, const Source&) {
  throw Error(Errc::unsupported, patch.name(), "bps patches are not supported yet");
}
void apply_bps(const Source& patch, const Source&, Sink&) {
  throw Error(Errc::unsupported, patch.name(), "bps patches are not supported yet");
}

}  // namespace bpatch::formats
