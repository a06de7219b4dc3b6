// A journal opened for reading only — what status and the generation lists
// read — through a view anchored at its directory, so that the directory
// checked is the one read (as Journal::open for a writer).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "bpatch/file_system.hpp"
#include "journal/journal.hpp"

namespace bpatch::journal {

struct ReadOnlyJournal {
  std::unique_ptr<FileSystem> view;  // anchored at journal.dir()
  Journal journal;
};

// The journal at journal_dir (its parent spelled canonically, the last
// component kept), or nullopt when there is no such directory or no journal
// in it. Takes no lock and creates nothing.
std::optional<ReadOnlyJournal> open_read_only_journal(FileSystem& fs,
                                                      const std::string& journal_dir);

}  // namespace bpatch::journal
