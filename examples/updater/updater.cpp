// updater — an example of a program that embeds bpatch: it updates an
// installed application from release 1 to release 2, all or nothing.
//
//   updater [--dry-run] APP_DIR UPDATE_DIR
//
// UPDATE_DIR is what a real updater would download (make_release.cpp writes
// a sample): a BPS patch for bin/app.bin, records to append to
// data/index.dat, a new asset, and release.txt with the XXH3-128 hash each
// file must have before the update touches it.
//
// What it shows, in order:
//   1. recover() first thing at start-up, so that an update interrupted by a
//      crash or a power cut is finished (or undone) before anything else;
//   2. one bpatch::Transaction holding four kinds of change — a delta, an
//      edit, a put and a remove — committed together: after commit() either
//      every file is release 2 or, if it throws, every file is release 1;
//   3. a progress callback and a report of what happened to each file;
//   4. bpatch::Error codes mapped to messages and exit statuses a user (or
//      the service manager running the updater) can act on.
//
// Exit status: 0 updated; 1 not updated, nothing changed; 2 usage;
// 3 committed but not finished (the next start finishes it); 4 another
// update is running.
#include <bpatch/bpatch.hpp>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

namespace fs = std::filesystem;

namespace {

// release.txt: "version N" and "expect PATH HASH" lines; '#' starts a comment.
struct Release {
  std::string version;
  std::map<std::string, bpatch::Hash128> expect;  // path relative to APP_DIR -> pre-image hash
};

Release read_release(const fs::path& path) {
  std::ifstream in(path);
  if (!in)
    throw bpatch::Error(bpatch::Errc::not_found, path.string(),
                        "cannot read the release description");
  Release release;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    std::istringstream words(line.substr(0, line.find('#')));
    std::string keyword, file, hex;
    if (!(words >> keyword)) continue;
    if (keyword == "version" && words >> release.version) continue;
    if (keyword == "expect" && words >> file >> hex) {
      if (const auto hash = bpatch::Hash128::from_hex(hex)) {
        release.expect[file] = *hash;
        continue;
      }
    }
    throw bpatch::Error(bpatch::Errc::bad_patch, path.string(),
                        "line " + std::to_string(number) + " is malformed");
  }
  return release;
}

// The expectation for `target`, if release.txt has one. With it, bpatch
// refuses to touch a file that is not exactly what the update was made for.
std::optional<bpatch::Hash128> expected(const Release& release, const std::string& target) {
  const auto it = release.expect.find(target);
  if (it == release.expect.end()) return std::nullopt;
  return it->second;
}

// The four changes of release 2. Paths in a Change are relative to the
// transaction's root (APP_DIR) and bpatch confines them to it; the patch and
// data files are absolute paths into UPDATE_DIR.
std::vector<bpatch::Change> release_2_changes(const Release& release, const fs::path& update) {
  std::vector<bpatch::Change> changes;

  // A delta: bin/app.bin is rebuilt from itself and a BPS patch. The patch
  // carries CRCs of source and target, which bpatch checks as well.
  bpatch::Change delta;
  delta.kind = bpatch::Change::Kind::delta;
  delta.target = "bin/app.bin";
  delta.patch = (update / "app.bin.bps").string();
  delta.expect = expected(release, delta.target);
  changes.push_back(delta);

  // An edit: data/index.dat gets the new release number in its header (a
  // u32 at offset 4) and new records at its end. Only those bytes are new;
  // bpatch copies (or reflinks) the rest of the file into the shadow.
  bpatch::Change edit;
  edit.kind = bpatch::Change::Kind::edit;
  edit.target = "data/index.dat";
  edit.expect = expected(release, edit.target);
  bpatch::EditOp header;
  header.kind = bpatch::EditOp::Kind::write;
  header.offset = 4;
  header.data.bytes = {std::byte{2}, std::byte{0}, std::byte{0}, std::byte{0}};
  header.origin = "release 2: index header";
  bpatch::EditOp records;
  records.kind = bpatch::EditOp::Kind::append;
  records.data.file = (update / "index-records.bin").string();
  records.origin = "release 2: index records";
  edit.edits = {header, records};
  changes.push_back(edit);

  // A put: a new file (its directory is created if needed), mode 0644.
  bpatch::Change put;
  put.kind = bpatch::Change::Kind::put;
  put.target = "assets/new.dat";
  put.content.file = (update / "new.dat").string();
  put.mode = 0644;
  changes.push_back(put);

  // A remove: only if the file is the one release 1 shipped.
  bpatch::Change remove;
  remove.kind = bpatch::Change::Kind::remove;
  remove.target = "assets/legacy.dat";
  remove.expect = expected(release, remove.target);
  changes.push_back(remove);
  return changes;
}

const char* action_name(bpatch::FileResult::Action action) {
  switch (action) {
    case bpatch::FileResult::Action::replaced:
      return "updated";
    case bpatch::FileResult::Action::created:
      return "created";
    case bpatch::FileResult::Action::removed:
      return "removed";
    case bpatch::FileResult::Action::unchanged:
      return "unchanged";
  }
  return "?";
}

// Turns a bpatch::Error into advice. Every Error carries a code, the path it
// concerns and the errno of the failed system call; what() has them all.
int explain(const bpatch::Error& e) {
  using bpatch::Errc;
  std::fprintf(stderr, "updater: %s\n", e.what());
  switch (e.code()) {
    case Errc::wrong_source:
    case Errc::already_applied:
      std::fprintf(stderr,
                   "updater: the installed files are not release 1 (already updated, or changed "
                   "locally); nothing was changed\n");
      return 1;
    case Errc::bad_patch:
    case Errc::checksum:
    case Errc::unsupported:
      std::fprintf(stderr,
                   "updater: the update is damaged; download it again. Nothing was changed\n");
      return 1;
    case Errc::locked:
      std::fprintf(stderr, "updater: another update is running; try again when it is done\n");
      return 4;
    case Errc::journal:
      // recover() found a committed update it cannot finish because a file
      // was changed behind its back. Only a person can decide what is right.
      std::fprintf(stderr,
                   "updater: an interrupted update cannot be finished automatically; "
                   "please reinstall the application\n");
      return 1;
    case Errc::io:
      if (e.sys_errno() == ENOSPC || e.sys_errno() == EDQUOT) {
        std::fprintf(stderr,
                     "updater: not enough disk space for the update; nothing was changed\n");
        return 1;
      }
      [[fallthrough]];
    default:
      std::fprintf(stderr, "updater: the update failed; nothing was changed\n");
      return 1;
  }
}

}  // namespace

int main(int argc, char** argv) {
  bool dry_run = false;
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--dry-run")
      dry_run = true;
    else
      args.push_back(arg);
  }
  if (args.size() != 2) {
    std::fprintf(stderr, "usage: updater [--dry-run] APP_DIR UPDATE_DIR\n");
    return 2;
  }

  // Every byte of bpatch's I/O goes through a FileSystem; this is the real one.
  bpatch::PosixFileSystem files;
  std::error_code ec;
  const fs::path app = fs::canonical(args[0], ec);  // the root must be absolute
  const fs::path update = fs::absolute(args[1]);
  if (ec) {
    std::fprintf(stderr, "updater: %s: %s\n", args[0].c_str(), ec.message().c_str());
    return 2;
  }
  const std::string journal = (app / ".bpatch").string();  // the default journal of root APP_DIR

  try {
    // 1. Recovery before anything else. If the previous run was killed after
    // its commit point this finishes it; if before, this deletes its shadow
    // files. Either way the application is now wholly one release.
    // (Transaction::commit() also recovers first, but a program should not
    // start using its files before they are consistent.)
    for (const auto& t : bpatch::recover(files, journal).transactions)
      std::printf("recovered an interrupted update (%s): %s\n", t.txid.c_str(), t.plan.c_str());

    const Release release = read_release(update / "release.txt");

    // 2. One transaction for the whole release.
    bpatch::TransactionOptions options;
    options.root = app.string();
    options.dry_run = dry_run;
    options.wait_seconds = 5;  // another updater may hold the journal for a moment
    int shown = -1;
    options.progress = [&shown](const bpatch::Progress& p) {  // 3. progress, in tenths
      if (p.bytes_total == 0) return;
      const int tenth = static_cast<int>(p.bytes_done * 10 / p.bytes_total);
      if (tenth != shown) std::fprintf(stderr, "  %3d%%\n", (shown = tenth) * 10);
    };
    bpatch::Transaction transaction(files, options);
    for (auto& change : release_2_changes(release, update)) transaction.add(std::move(change));

    const bpatch::CommitResult result = transaction.commit();

    for (const auto& f : result.files) {
      const std::string shown_path = fs::relative(f.target, app).string();
      std::printf("%-9s %-20s", action_name(f.action), shown_path.c_str());
      if (f.post_hash)
        std::printf(" %8llu bytes  xxh3:%s", static_cast<unsigned long long>(f.size),
                    f.post_hash->hex().c_str());
      std::printf("\n");
    }
    if (dry_run)
      std::printf("dry run: the update to release %s fits; nothing was written\n",
                  release.version.c_str());
    else
      std::printf("updated to release %s (transaction %s)\n", release.version.c_str(),
                  result.txid.c_str());
    return 0;
  } catch (const bpatch::IncompleteCommit& e) {
    // 4. Past the commit point: the update *will* happen. The files may be a
    // mix right now, so do not start the application; the next recover()
    // (the next start of this updater, or `bpatch recover --root APP_DIR`)
    // completes it.
    std::fprintf(
        stderr,
        "updater: %s\nupdater: the update to transaction %s is committed but not finished; "
        "it will be completed the next time the updater starts\n",
        e.what(), e.txid().c_str());
    return 3;
  } catch (const bpatch::Error& e) {
    return explain(e);
  }
}
