// Step 10 of docs/protocol.md, the commit point, as a transaction and an undo
// both make it: manifest-TXID.tmp renamed to manifest-TXID. Once that rename
// is durable the transaction happened; until then recovery undoes it.
#pragma once

#include <functional>
#include <string>

#include "bpatch/error.hpp"
#include "bpatch/file_system.hpp"
#include "journal/journal.hpp"

namespace bpatch {

// Renames the manifest of txid into place. A rename that fails normally did
// not happen, but that is looked at rather than guessed: when the manifest
// has its final name anyway, or when that cannot be told, throws
// IncompleteCommit (recovery will decide). When it surely did not happen,
// calls not_committed(cause) inside the handler of the rename's error (so
// that it may rethrow it with `throw;`); not_committed must throw — the
// answer is then "nothing changed", never a commit recovery would undo.
void rename_manifest(FileSystem& fs, const journal::Journal& journal, const std::string& txid,
                     const std::function<void(const Error&)>& not_committed);

}  // namespace bpatch
