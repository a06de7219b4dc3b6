#include "bpatch/error.hpp"

#include <cstring>

namespace bpatch {
namespace {

std::string full_message(const std::string& path, const std::string& message) {
  return path.empty() ? message : path + ": " + message;
}

}  // namespace

const char* errc_name(Errc code) {
  switch (code) {
    case Errc::io:
      return "io";
    case Errc::not_found:
      return "not_found";
    case Errc::invalid_path:
      return "invalid_path";
    case Errc::not_regular:
      return "not_regular";
    case Errc::hard_linked:
      return "hard_linked";
    case Errc::script_syntax:
      return "script_syntax";
    case Errc::bad_patch:
      return "bad_patch";
    case Errc::unsupported:
      return "unsupported";
    case Errc::wrong_source:
      return "wrong_source";
    case Errc::already_applied:
      return "already_applied";
    case Errc::checksum:
      return "checksum";
    case Errc::concurrent_change:
      return "concurrent_change";
    case Errc::locked:
      return "locked";
    case Errc::journal:
      return "journal";
    case Errc::too_large:
      return "too_large";
    case Errc::usage:
      return "usage";
    case Errc::bad_signature:
      return "bad_signature";
  }
  return "unknown";
}

Error::Error(Errc code, std::string path, std::string message, int sys_errno)
    : std::runtime_error(full_message(path, message)),
      code_(code),
      path_(std::move(path)),
      message_(std::move(message)),
      errno_(sys_errno) {}

void throw_sys_error(const std::string& path, const std::string& what, int err) {
  const Errc code = (err == ENOENT || err == ENOTDIR) ? Errc::not_found : Errc::io;
  throw Error(code, path, what + ": " + std::strerror(err), err);
}

IncompleteCommit::IncompleteCommit(const Error& cause, std::string txid)
    : Error(cause.code(), cause.path(),
            cause.message() + " (transaction " + txid +
                " is committed but not finished; run `bpatch recover`)",
            cause.sys_errno()),
      txid_(std::move(txid)) {}

}  // namespace bpatch
