// bpatch::Error — the one error type of the library.
//
// Every failure the library reports is thrown as a bpatch::Error carrying a
// machine-readable code, the path it concerns (may be empty), the errno of the
// failing system call (0 when none) and a message a user can act on. The
// library never prints and never exits; the CLI maps `code()` to an exit
// status and prints `what()` once.
//
// Thread-safety: immutable after construction; safe to share.
#pragma once

#include <stdexcept>
#include <string>

namespace bpatch {

enum class Errc {
  io,                 // a system call failed (see sys_errno())
  not_found,          // a file or directory that must exist does not
  invalid_path,       // absolute, escapes ROOT, through a symlink leading out, …
  not_regular,        // a target is a directory, device, socket, …
  hard_linked,        // a target has more than one link and hard links were not allowed
  script_syntax,      // a malformed .bpatch script line
  bad_patch,          // a malformed, truncated or corrupt delta patch
  unsupported,        // a patch format or feature this build does not decode
  wrong_source,       // the input is not the file the patch/expectation was made for
  already_applied,    // the target already holds the patch's result
  checksum,           // a checksum in a patch or record did not verify
  concurrent_change,  // a target changed between validation and commit
  locked,             // the journal is locked by another bpatch
  journal,            // a journal record is inconsistent with the files on disk
  too_large,          // a declared size exceeds what is sane or what exists
  usage,              // the caller passed arguments that cannot work together
  bad_signature,      // a signature or key is missing, malformed, untrusted or does not verify
};

// A short stable name for a code ("io", "bad_patch", …), used in --json output.
const char* errc_name(Errc code);

class Error : public std::runtime_error {
 public:
  Error(Errc code, std::string path, std::string message, int sys_errno = 0);

  Errc code() const noexcept { return code_; }
  const std::string& path() const noexcept { return path_; }
  int sys_errno() const noexcept { return errno_; }
  // The message without the path prefix.
  const std::string& message() const noexcept { return message_; }

 private:
  Errc code_;
  std::string path_;
  std::string message_;
  int errno_;
};

// Thrown by Transaction::commit() after the commit point: the transaction is
// durable — it WILL happen — but not yet finished (e.g. an fsync failed while
// replaying). `recover()` finishes it; the cause is in message()/sys_errno().
class IncompleteCommit : public Error {
 public:
  IncompleteCommit(const Error& cause, std::string txid);
  const std::string& txid() const noexcept { return txid_; }

 private:
  std::string txid_;
};

// Throws Error(Errc::io, path, "<what>: <strerror(err)>", err).
[[noreturn]] void throw_sys_error(const std::string& path, const std::string& what, int err);

}  // namespace bpatch
