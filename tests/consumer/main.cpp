// A program outside the bpatch tree that uses the installed library: it
// proves that the headers, the library and its link dependencies are all
// found through find_package(bpatch CONFIG), add_subdirectory() or
// pkg-config. It runs one transaction (an edit, a put, a remove) in a
// temporary directory, checks the result, and runs recover() on the journal.
#include <bpatch/bpatch.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

namespace fs = std::filesystem;

namespace {

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_file(const fs::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

int fail(const std::string& what) {
  std::fprintf(stderr, "consumer: FAILED: %s\n", what.c_str());
  return 1;
}

}  // namespace

int main() {
  std::string pattern = (fs::temp_directory_path() / "bpatch-consumer-XXXXXX").string();
  if (!::mkdtemp(pattern.data())) return fail("mkdtemp");
  const fs::path root = pattern;
  write_file(root / "a.bin", "hello, world");
  write_file(root / "old.bin", "obsolete");

  bpatch::PosixFileSystem files;
  int status = 0;
  try {
    bpatch::TransactionOptions options;
    options.root = root.string();
    bpatch::Transaction transaction(files, options);

    bpatch::Change edit;
    edit.kind = bpatch::Change::Kind::edit;
    edit.target = "a.bin";
    edit.expect = bpatch::hash_file(files, (root / "a.bin").string());
    bpatch::EditOp op;
    op.kind = bpatch::EditOp::Kind::write;
    op.offset = 0;
    op.data.bytes = {std::byte{'J'}};
    edit.edits.push_back(op);
    transaction.add(edit);

    bpatch::Change put;
    put.kind = bpatch::Change::Kind::put;
    put.target = "sub/new.bin";
    put.content.bytes = {std::byte{'n'}, std::byte{'e'}, std::byte{'w'}};
    transaction.add(put);

    bpatch::Change remove;
    remove.kind = bpatch::Change::Kind::remove;
    remove.target = "old.bin";
    transaction.add(remove);

    const bpatch::CommitResult result = transaction.commit();
    if (result.txid.empty() || result.files.size() != 3)
      status = fail("commit reported no transaction");
    if (read_file(root / "a.bin") != "Jello, world") status = fail("a.bin was not edited");
    if (read_file(root / "sub/new.bin") != "new") status = fail("sub/new.bin was not created");
    if (fs::exists(root / "old.bin")) status = fail("old.bin was not removed");

    // Nothing is pending after a finished commit.
    const bpatch::RecoveryReport report = bpatch::recover(files, (root / ".bpatch").string());
    if (!report.transactions.empty()) status = fail("recover() found a pending transaction");

    // A wrong expectation fails with a code and changes nothing.
    bpatch::Transaction wrong(files, options);
    edit.expect = bpatch::hash_bytes({});
    wrong.add(edit);
    try {
      wrong.commit();
      status = fail("a wrong expect= was accepted");
    } catch (const bpatch::Error& e) {
      if (e.code() != bpatch::Errc::wrong_source)
        status = fail(std::string("unexpected error: ") + e.what());
    }
    if (read_file(root / "a.bin") != "Jello, world") status = fail("a failed commit changed a.bin");
  } catch (const bpatch::Error& e) {
    status = fail(std::string(bpatch::errc_name(e.code())) + ": " + e.what());
  }
  fs::remove_all(root);
  if (status == 0) std::printf("consumer: ok (bpatch::Transaction, recover, Error)\n");
  return status;
}
