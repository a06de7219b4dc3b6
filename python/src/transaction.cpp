// bpatch.Transaction — the Python face of bpatch::Transaction.
//
// Ops are collected, not performed: each call appends to the Change of its
// target (edit ops of one file accumulate in one edit Change, in call order;
// put, delta and remove are one Change each), and nothing touches the disk
// until commit(). Used as a context manager, leaving the block commits and an
// exception leaving the block discards everything and propagates.
//
// expect() attaches a pre-image hash to its target's Change; a target that
// is only expected (no op) is checked just before the commit starts.
//
// Not thread-safe (like bpatch::Transaction): use one from one thread.
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include <map>

#include "bindings.hpp"
#include "bpatch/error.hpp"
#include "bpatch/hash.hpp"
#include "bpatch/posix_file_system.hpp"

namespace bpatch::python {
namespace {

namespace fs = std::filesystem;

Hash128 parse_hash(const std::string& text) {
  std::string_view hex = text;
  if (hex.starts_with("xxh3:")) hex.remove_prefix(5);
  const auto hash = Hash128::from_hex(hex);
  if (!hash)
    throw Error(
        Errc::usage, "",
        "expected hash must be 32 hex digits (optionally after 'xxh3:'), got '" + text + "'");
  return *hash;
}

const char* kind_word(Change::Kind kind) {
  switch (kind) {
    case Change::Kind::edit:
      return "edit ops";
    case Change::Kind::delta:
      return "delta()";
    case Change::Kind::put:
      return "put()";
    case Change::Kind::remove:
      return "remove()";
    case Change::Kind::move:
      return "move()";
    case Change::Kind::copy:
      return "copy()";
    default:
      return change_kind_name(kind);
  }
}

class PyTransaction {
 public:
  PyTransaction(const fs::path& root, const std::optional<fs::path>& journal, double wait,
                bool allow_hardlinks, py::object progress, bool dry_run, unsigned keep)
      : progress_(std::move(progress)) {
    if (!progress_.is_none() && !PyCallable_Check(progress_.ptr()))
      throw py::type_error("progress must be callable or None");
    options_.root = real_path(root);
    options_.journal = journal_dir(options_.root, journal);
    options_.wait_seconds = wait;
    options_.allow_hardlinks = allow_hardlinks;
    options_.dry_run = dry_run;
    options_.keep = keep;
  }

  void expect(const fs::path& path, const std::string& hash) {
    check_open();
    const std::string key = target_of(path);
    const Hash128 h = parse_hash(hash);
    const auto [it, inserted] = expects_.emplace(key, h);
    if (!inserted && it->second != h)
      throw Error(Errc::usage, key, "expect() was given two different hashes for this file");
  }

  void write(const fs::path& path, uint64_t offset, const py::object& data) {
    EditOp op;
    op.kind = EditOp::Kind::write;
    op.offset = offset;
    op.data.bytes = buffer_bytes(data);
    add_edit(path, std::move(op));
  }
  void fill(const fs::path& path, uint64_t offset, uint64_t length, int value) {
    if (value < 0 || value > 255)
      throw Error(Errc::usage, path.string(), "fill value must be a byte (0..255)");
    EditOp op;
    op.kind = EditOp::Kind::fill;
    op.offset = offset;
    op.length = length;
    op.value = static_cast<std::byte>(value);
    add_edit(path, std::move(op));
  }
  void insert(const fs::path& path, uint64_t offset, const py::object& data) {
    EditOp op;
    op.kind = EditOp::Kind::insert;
    op.offset = offset;
    op.data.bytes = buffer_bytes(data);
    add_edit(path, std::move(op));
  }
  void erase(const fs::path& path, uint64_t offset, uint64_t length) {
    EditOp op;
    op.kind = EditOp::Kind::erase;
    op.offset = offset;
    op.length = length;
    add_edit(path, std::move(op));
  }
  void truncate(const fs::path& path, uint64_t size) {
    EditOp op;
    op.kind = EditOp::Kind::truncate;
    op.length = size;
    add_edit(path, std::move(op));
  }
  void append(const fs::path& path, const py::object& data) {
    EditOp op;
    op.kind = EditOp::Kind::append;
    op.data.bytes = buffer_bytes(data);
    add_edit(path, std::move(op));
  }

  static void check_mode(const fs::path& path, uint32_t mode) {
    if (mode > 07777)
      throw Error(Errc::usage, path.string(), "mode must be permission bits (0..0o7777)");
  }

  void put(const fs::path& path, const py::object& data, std::optional<uint32_t> mode) {
    if (mode) check_mode(path, *mode);
    Change change;
    change.kind = Change::Kind::put;
    change.content.bytes = buffer_bytes(data);
    change.mode = mode;
    add_whole(path, std::move(change));
  }
  void delta(const fs::path& target, const fs::path& patch) {
    Change change;
    change.kind = Change::Kind::delta;
    // Absolute now: the working directory may change before the commit.
    change.patch = absolute_path(patch);
    add_whole(target, std::move(change));
  }
  void remove(const fs::path& path) {
    Change change;
    change.kind = Change::Kind::remove;
    add_whole(path, std::move(change));
  }
  void symlink(const fs::path& path, const std::string& link_text) {
    add_whole(path, Change::symlink("", link_text));
  }
  void mkdir(const fs::path& path, uint32_t mode) {
    check_mode(path, mode);
    add_whole(path, Change::mkdir("", mode));
  }
  void rmdir(const fs::path& path) { add_whole(path, Change::rmdir("")); }
  // The destination is the Change's target; the source is named relative
  // to the root as targets are (the library confines it beneath the root).
  void move(const fs::path& from, const fs::path& to) {
    check_open();
    add_whole(to, Change::move(target_of(from), ""));
  }
  void copy(const fs::path& from, const fs::path& to, std::optional<uint32_t> mode) {
    check_open();
    if (mode) check_mode(to, *mode);
    Change change = Change::copy(target_of(from), "");
    change.mode = mode;
    add_whole(to, std::move(change));
  }
  void chmod(const fs::path& path, uint32_t mode) {
    check_mode(path, mode);
    add_whole(path, Change::chmod("", mode));
  }

  py::object commit() {
    check_open();
    state_ = State::finished;  // whatever happens: a transaction commits once
    std::vector<Change> changes = std::move(changes_);
    for (auto& change : changes) {
      const auto it = expects_.find(change.target);
      if (it != expects_.end()) {
        change.expect = it->second;
        expects_.erase(it);
      }
    }
    check_expect_only();
    try {
      result_ = py::cast(run_commit(options_, std::move(changes), progress_));
    } catch (const IncompleteCommit&) {
      throw;
    } catch (const Error& e) {
      rethrow_edit_error(e);
    }
    return result_;
  }

  // Drops every op; nothing was written, nothing will be.
  void discard() {
    changes_.clear();
    index_.clear();
    expects_.clear();
    state_ = State::finished;
  }

  bool exit(const py::handle& type, const py::handle&, const py::handle&) {
    if (state_ == State::open) {
      if (type.is_none())
        commit();
      else
        discard();
    }
    return false;  // never swallow the exception
  }

  py::object result() const { return result_; }
  bool closed() const { return state_ != State::open; }
  const std::string& root() const { return options_.root; }
  const std::string& journal() const { return options_.journal; }
  size_t size() const {
    size_t expect_only = 0;
    for (const auto& [key, hash] : expects_) expect_only += index_.contains(key) ? 0 : 1;
    return changes_.size() + expect_only;
  }

 private:
  enum class State { open, finished };

  void check_open() const {
    if (state_ != State::open)
      throw Error(Errc::usage, options_.root,
                  "this transaction has already been committed or discarded; start a new one");
  }

  // The target as the library wants it: relative to the root. An absolute
  // path inside the root is accepted and made relative; any other absolute
  // path is passed on, for the library to refuse by name.
  std::string target_of(const fs::path& path) const {
    fs::path p = path.lexically_normal();
    if (p.is_absolute()) {
      const fs::path rel = p.lexically_relative(options_.root);
      if (!rel.empty() && *rel.begin() != "..") p = rel;
    }
    std::string s = p.string();
    if (s.empty()) throw Error(Errc::invalid_path, "", "empty path");
    return s;
  }

  void add_edit(const fs::path& path, EditOp op) {
    check_open();
    const std::string key = target_of(path);
    auto it = index_.find(key);
    if (it == index_.end()) {
      Change change;
      change.kind = Change::Kind::edit;
      change.target = key;
      changes_.push_back(std::move(change));
      it = index_.emplace(key, changes_.size() - 1).first;
    }
    Change& change = changes_[it->second];
    if (change.kind != Change::Kind::edit) conflict(key, change.kind, "edit ops");
    // The origin lets an op that does not fit the file name its target and
    // position; commit() turns the resulting code back into `usage`.
    op.origin = key + ": op " + std::to_string(change.edits.size() + 1);
    change.edits.push_back(std::move(op));
  }

  void add_whole(const fs::path& path, Change change) {
    check_open();
    const std::string key = target_of(path);
    if (const auto it = index_.find(key); it != index_.end())
      conflict(key, changes_[it->second].kind, kind_word(change.kind));
    change.target = key;
    changes_.push_back(std::move(change));
    index_.emplace(key, changes_.size() - 1);
  }

  [[noreturn]] void conflict(const std::string& key, Change::Kind had, const char* now) const {
    throw Error(Errc::usage, key,
                std::string("already has ") + kind_word(had) + " in this transaction; " + now +
                    " cannot be added (one file takes either edit ops or one put/delta/remove)");
  }

  // An edit op that does not fit its file comes back as script_syntax with
  // the op's origin ("a.bin: op 3: ...") in front: there is no script here,
  // so it becomes a usage error naming the target's path.
  [[noreturn]] void rethrow_edit_error(const Error& e) const {
    if (e.code() == Errc::script_syntax && e.path().empty()) {
      for (const auto& [key, index] : index_) {
        const std::string prefix = key + ": op ";
        if (e.message().starts_with(prefix))
          throw Error(Errc::usage, options_.root + "/" + key, e.message().substr(key.size() + 2),
                      e.sys_errno());
      }
    }
    throw;
  }

  // Targets named only by expect(): hashed now, before anything is written.
  void check_expect_only() {
    if (expects_.empty()) return;
    std::vector<std::pair<std::string, Hash128>> checks;
    for (const auto& [key, hash] : expects_) {
      const std::string path = real_path(fs::path(options_.root) / key);
      if (!path.starts_with(options_.root + "/"))
        throw Error(Errc::invalid_path, key, "path leads outside the root " + options_.root);
      checks.emplace_back(path, hash);
    }
    expects_.clear();
    py::gil_scoped_release release;
    PosixFileSystem posix;
    for (const auto& [path, want] : checks) {
      const Hash128 got = hash_file(posix, path);
      if (got != want)
        throw Error(
            Errc::wrong_source, path,
            "expected content xxh3:" + want.hex() + " but the file hashes to xxh3:" + got.hex());
    }
  }

  TransactionOptions options_;
  py::object progress_;
  State state_ = State::open;
  std::vector<Change> changes_;
  std::map<std::string, size_t> index_;  // target -> its Change in changes_
  std::map<std::string, Hash128> expects_;
  py::object result_ = py::none();
};

}  // namespace

void bind_transaction(py::module_& m) {
  using T = PyTransaction;
  py::class_<T>(m, "Transaction", R"doc(
Many changes to files under one root, committed all-or-nothing.

    with bpatch.Transaction("/data") as tx:
        tx.write("a.bin", 16, b"\xde\xad")
        tx.put("new/d.bin", b"...")
    print(tx.result)

Ops only record what to do; nothing is read or written until the commit.
Edit ops (write, fill, insert, delete, truncate, append) on one file
accumulate in call order, each offset referring to the file as the previous
op left it. put, delta and remove replace a whole file and exclude other ops
on it. Leaving the `with` block normally commits (tx.result then tells what
happened); an exception leaving it discards every op and propagates, and
nothing is written. commit() may also be called explicitly, once.

A commit either changes every file or none: if the process dies at any
instant, the next Transaction or recover() on the same journal finishes or
undoes it. Paths of targets are relative to root (an absolute path inside
root is accepted); paths may be str or os.PathLike.

root: the directory the targets live in (it must exist).
journal: the journal directory; default ROOT/.bpatch.
wait: seconds to wait for a journal locked by another bpatch (negative:
    forever); then LockedError.
allow_hardlinks: replace targets that have several hard links (splitting
    them) instead of refusing.
progress: None or a callable(bytes_done, bytes_total, files_done,
    files_total), called while the new contents are written, with the GIL
    held but maybe from one of bpatch's own threads (never two at once). If
    it raises, the commit is aborted (nothing changes) and the exception
    propagates from commit().
dry_run: validate everything and compute the results, write nothing.
keep: undo generations to keep (0, the default: none). With keep > 0 every
    original the commit replaces or removes is kept (a hard link, never a
    copy) so that bpatch.undo() can restore it; older generations beyond the
    `keep` newest are dropped.
)doc")
      .def(py::init<const std::filesystem::path&, const std::optional<std::filesystem::path>&,
                    double, bool, py::object, bool, unsigned>(),
           py::arg("root"), py::arg("journal") = py::none(), py::arg("wait") = 0.0,
           py::arg("allow_hardlinks") = false, py::arg("progress") = py::none(), py::kw_only(),
           py::arg("dry_run") = false, py::arg("keep") = 0)
      .def(
          "__enter__", [](T& t) -> T& { return t; }, py::return_value_policy::reference,
          "Returns the transaction itself.")
      .def("__exit__", &T::exit, py::arg("exc_type"), py::arg("exc_value"), py::arg("traceback"),
           "Commits when the block ended normally, discards when it raised; never suppresses "
           "the exception.")
      .def("expect", &T::expect, py::arg("path"), py::arg("hash"),
           "Requires the file's current content to hash to `hash` (32 hex digits of XXH3-128, as "
           "hash_file() and `bpatch hash` print, optionally after 'xxh3:'); otherwise the commit "
           "raises Error(code='wrong_source') and changes nothing.")
      .def("write", &T::write, py::arg("path"), py::arg("offset"), py::arg("data"),
           "Overwrites bytes at offset with data (bytes, bytearray or memoryview); may extend "
           "the file at its end. offset must not be past the end.")
      .def("fill", &T::fill, py::arg("path"), py::arg("offset"), py::arg("length"),
           py::arg("value"),
           "Overwrites length bytes at offset with the byte value (0..255); may extend the "
           "file.")
      .def("insert", &T::insert, py::arg("path"), py::arg("offset"), py::arg("data"),
           "Inserts data at offset (0..size), moving the rest of the file up.")
      .def("delete", &T::erase, py::arg("path"), py::arg("offset"), py::arg("length"),
           "Deletes length bytes at offset; the range must lie inside the file.")
      .def("truncate", &T::truncate, py::arg("path"), py::arg("size"),
           "Cuts the file to size bytes, or extends it with zero bytes.")
      .def("append", &T::append, py::arg("path"), py::arg("data"), "Appends data.")
      .def("put", &T::put, py::arg("path"), py::arg("data"), py::arg("mode") = py::none(),
           "Creates or replaces the whole file with data (bytes, bytearray or memoryview); "
           "missing parent directories are created. mode: permission bits (default: the old "
           "file's, 0o644 for a new one).")
      .def("delta", &T::delta, py::arg("target"), py::arg("patch_path"),
           "Applies a delta patch file to target: bsdiff, ENDSLEY/BSDIFF43, VCDIFF (xdelta3), "
           "IPS, BPS or UPS, found by its magic bytes; the patch's own checksums are verified.")
      .def("remove", &T::remove, py::arg("path"), "Deletes the file (a symlink itself).")
      .def("move", &T::move, py::arg("source"), py::arg("dest"),
           "Renames source to dest at the commit: the same inode, no data copied (a copy only "
           "across file systems); source is removed. expect() on dest refers to source.")
      .def("copy", &T::copy, py::arg("source"), py::arg("dest"), py::arg("mode") = py::none(),
           "Writes a copy of source to dest (shared extents where the file system can); mode "
           "defaults to dest's (0o644 for a new file). expect() on dest refers to source.")
      .def("symlink", &T::symlink, py::arg("path"), py::arg("target"),
           "Creates or replaces path with a symbolic link holding target (stored as given).")
      .def("mkdir", &T::mkdir, py::arg("path"), py::arg("mode"),
           "Creates the directory with exactly this mode (or sets an existing one's).")
      .def("rmdir", &T::rmdir, py::arg("path"),
           "Removes a directory this transaction leaves empty (after every other change).")
      .def("chmod", &T::chmod, py::arg("path"), py::arg("mode"),
           "Sets the permission bits only (a file is committed as a copy with that mode).")
      .def("commit", &T::commit,
           "Commits every op at once and returns the CommitResult (also in tx.result). Raises "
           "Error (nothing changed), LockedError, or IncompleteCommit (committed, not finished: "
           "recover() finishes it). A transaction commits once, even if that failed.")
      .def("discard", &T::discard, "Drops every op; the transaction can no longer be used.")
      .def_property_readonly("result", &T::result,
                             "The CommitResult after a successful commit, else None.")
      .def_property_readonly("closed", &T::closed,
                             "True once committed (or tried to) or discarded.")
      .def_property_readonly("root", &T::root, "The root, resolved.")
      .def_property_readonly("journal", &T::journal, "The journal directory, resolved.")
      .def("__len__", &T::size, "The number of files the transaction names so far.")
      .def("__repr__", [](const T& t) {
        return "<bpatch.Transaction root=" + py::repr(py::str(t.root())).cast<std::string>() +
               ", files=" + std::to_string(t.size()) + (t.closed() ? ", closed>" : ">");
      });
}

}  // namespace bpatch::python
