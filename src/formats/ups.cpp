// Placeholder: this format's decoder has not landed yet.
#include "bpatch/error.hpp"
#include "formats/decoders.hpp"

namespace bpatch::formats {

PatchInfo inspect_ups(const Source& patch) {
  throw Error(Errc::unsupported, patch.name(), "ups patches are not supported yet");
}
SourceCheck check_source_ups(const Source& patch, const Source&) {
  throw Error(Errc::unsupported, patch.name(), "ups patches are not supported yet");
}
void apply_ups(const Source& patch, const Source&, Sink&) {
  throw Error(Errc::unsupported, patch.name(), "ups patches are not supported yet");
}

}  // namespace bpatch::formats
