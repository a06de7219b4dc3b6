// Opening a journal for reading (read_only_journal.hpp).
#include "journal/read_only_journal.hpp"

#include "base/paths.hpp"

namespace bpatch::journal {

std::optional<ReadOnlyJournal> open_read_only_journal(FileSystem& fs,
                                                      const std::string& journal_dir) {
  const std::string dir = paths::canonical_parent(fs, journal_dir);
  if (!fs.lstat(dir)) return std::nullopt;
  auto view = fs.anchored({dir});
  auto journal = Journal::open_read_only(*view, dir);
  if (!journal) return std::nullopt;
  return ReadOnlyJournal{std::move(view), std::move(*journal)};
}

}  // namespace bpatch::journal
