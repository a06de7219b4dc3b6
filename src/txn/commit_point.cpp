// The commit rename of a manifest (commit_point.hpp).
#include "txn/commit_point.hpp"

namespace bpatch {

void rename_manifest(FileSystem& fs, const journal::Journal& journal, const std::string& txid,
                     const std::function<void(const Error&)>& not_committed) {
  try {
    fs.rename(journal.manifest_tmp_path(txid), journal.manifest_path(txid));
  } catch (const Error& e) {
    bool renamed = true;
    try {
      renamed = fs.lstat(journal.manifest_path(txid)).has_value();
    } catch (const Error&) {
      throw IncompleteCommit(e, txid);  // cannot tell: recovery will
    }
    if (renamed) throw IncompleteCommit(e, txid);
    not_committed(e);
    throw;  // not reached: not_committed throws
  }
}

}  // namespace bpatch
