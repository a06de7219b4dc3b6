// The undo operations the crash explorer and the sync-mutation test explore:
// an update committed with keep=1 (keep names at replay, the generation
// record), one that prunes an older generation, `bpatch undo` of a
// generation that edited, replaced, removed and created files in new
// directories, and `bpatch forget` of every generation. Each scenario's setup
// runs the transactions the operation starts from (uninterrupted), so every
// scenario has exactly one explored operation.
#pragma once

#include <vector>

#include "testing/crash_explorer.hpp"

namespace bpatch::testing {

std::vector<Scenario> undo_scenarios();

}  // namespace bpatch::testing
