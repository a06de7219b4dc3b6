// `bpatch undo --root LINK`: switches a link that `apply --atomic` switched
// back to the release it named before (bpatch::undo_atomic; docs/protocol.md
// §6.4). The release switched away from is kept.
#include <cstdio>

#include "bpatch/atomic.hpp"
#include "bpatch/posix_file_system.hpp"
#include "commands.hpp"
#include "json.hpp"
#include "text_quote.hpp"

namespace bpatch::cli {

int run_undo_atomic(const CommonOptions& common) {
  PosixFileSystem fs;
  const UndoResult r = undo_atomic(fs, atomic_options(common));
  if (common.json) {
    Json j;
    j.begin_object()
        .field("ok", true)
        .field("command", "undo")
        .field("atomic", true)
        .field("txid", r.txid)
        .field("from_release", r.from_release)
        .field("to_release", r.to_release)
        .end_object();
    std::printf("%s\n", j.str().c_str());
  } else if (!common.quiet) {
    for (const auto& line : r.recovered)
      std::printf("recovered %s\n", quote_controls(line).c_str());
    std::printf("switched %s back to %s (undid %s; %s is kept: delete it when unneeded)\n",
                quote_controls(absolute_path(common.root)).c_str(),
                quote_controls(r.to_release).c_str(), r.txid.c_str(),
                quote_controls(r.from_release).c_str());
  }
  return kExitOk;
}

}  // namespace bpatch::cli
