// Path helpers of the Python binding: Python's str/os.PathLike arguments
// turned into the absolute, resolved spellings the library expects, as the
// command line does (see src/cli/apply_command.cpp for the same rules).
#include <system_error>

#include "bindings.hpp"
#include "bpatch/error.hpp"

namespace bpatch::python {
namespace {

// "dir/name/" -> "dir/name": a trailing slash would leave an empty basename.
std::filesystem::path without_trailing_slash(const std::filesystem::path& path) {
  std::string s = path.string();
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

}  // namespace

std::string real_path(const std::filesystem::path& path) {
  std::error_code ec;
  const auto real = std::filesystem::canonical(path, ec);
  if (ec) throw Error(Errc::not_found, path.string(), ec.message(), ec.value());
  return real.string();
}

std::string absolute_path(const std::filesystem::path& path) {
  std::error_code ec;
  const auto abs = std::filesystem::absolute(without_trailing_slash(path), ec);
  if (ec) throw Error(Errc::io, path.string(), "cannot make the path absolute: " + ec.message());
  return abs.string();
}

std::string journal_dir(const std::string& real_root,
                        const std::optional<std::filesystem::path>& journal) {
  if (!journal) return real_root + "/.bpatch";
  const std::filesystem::path abs = absolute_path(*journal);
  std::error_code ec;
  const auto parent = std::filesystem::canonical(abs.parent_path(), ec);
  // A missing parent is left as written: opening the journal reports it.
  return ec ? abs.string() : (parent / abs.filename()).string();
}

}  // namespace bpatch::python
