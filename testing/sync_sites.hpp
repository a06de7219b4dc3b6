// The sync site names written in src/ (src/base/durability.hpp), so that a
// sync-mutation test can check its list of sites against the source: a new
// fsync cannot be added without being proven necessary there.
#pragma once

#include <set>
#include <string>
#include <vector>

namespace bpatch::testing {

// Every string literal "PREFIX.name" (lowercase letters and dots after the
// dot), PREFIX one of `prefixes`, in the files under src/ that mention sync:
// those pass site names to sync_file/sync_dir/sync_file_system.
std::set<std::string> sync_sites_in_source(const std::vector<std::string>& prefixes);

}  // namespace bpatch::testing
