// The record of one atomic switch (docs/protocol.md §6), in the journal as
//
//   release-TXID     written and synced before the new release exists: the
//                    switch may or may not have happened (LINK decides)
//   generation-TXID  the same bytes, renamed there once LINK names the new
//                    release: the switch happened, and undo may reverse it
//
//   record := "bpatch-release 1" LF "txid " TXID LF "journal " PATH LF
//             "link " PATH LF "old " PATH LF "new " PATH LF
//             "old-target " TEXT LF "new-target " TEXT LF "checksum " HEX32 LF
//
// PATH is absolute; TEXT is a symlink's content (maybe relative); both are
// %XX-escaped as in the other records. The checksum is the XXH3-128 of every
// byte before its line, so a torn record is recognised and never trusted.
#pragma once

#include <string>
#include <string_view>

namespace bpatch::release {

struct ReleaseRecord {
  std::string txid;
  std::string journal;     // the journal directory it was written in
  std::string link;        // LINK
  std::string old_dir;     // the release LINK named before (canonical)
  std::string new_dir;     // the release built: OLD's directory/NAME.bpatch-TXID
  std::string old_target;  // LINK's content before
  std::string new_target;  // LINK's content after
  bool operator==(const ReleaseRecord&) const = default;
};

std::string encode_release(const ReleaseRecord& record);

// Throws Error(journal, name, cause) for a torn, damaged or malformed record.
ReleaseRecord decode_release(std::string_view bytes, const std::string& name);

}  // namespace bpatch::release
