#include "base/paths.hpp"

#include <deque>

#include "bpatch/error.hpp"
#include "bpatch/hash.hpp"

namespace bpatch::paths {
namespace {

constexpr size_t kNameMax = 255;
constexpr int kMaxSymlinks = 40;  // as the kernel's MAXSYMLINKS

std::vector<std::string> split(std::string_view path) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= path.size()) {
    const size_t end = std::min(path.find('/', start), path.size());
    if (end > start) parts.emplace_back(path.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

std::string join_all(const std::string& root, const std::vector<std::string>& parts) {
  std::string out = root;
  for (const auto& p : parts) out = join(out, p);
  return out;
}

}  // namespace

std::string join(std::string_view dir, std::string_view name) {
  std::string out(dir);
  if (out.empty() || out.back() != '/') out += '/';
  out += name;
  return out;
}

std::string dirname(std::string_view path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return ".";
  if (slash == 0) return "/";
  return std::string(path.substr(0, slash));
}

std::string basename(std::string_view path) {
  const size_t slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

std::string absolute(std::string_view path, std::string_view base) {
  std::vector<std::string> out;
  const std::string full = path.starts_with('/') ? std::string(path) : join(base, path);
  for (auto& part : split(full)) {
    if (part == ".") continue;
    if (part == "..") {
      if (!out.empty()) out.pop_back();
      continue;
    }
    out.push_back(std::move(part));
  }
  return out.empty() ? "/" : join_all("", out);
}

std::string shadow_path(std::string_view target, std::string_view txid) {
  std::string name = basename(target);
  const std::string suffix = ".bpatch-" + std::string(txid);
  if (1 + name.size() + suffix.size() > kNameMax) {
    // Too long to keep whole: a prefix, then a hash of the full name, so
    // that two long names sharing a prefix still get different shadows.
    const std::string digest =
        "~" + hash_bytes(std::as_bytes(std::span(name.data(), name.size()))).hex();
    name = name.substr(0, kNameMax - 1 - digest.size() - suffix.size()) + digest;
  }
  return join(dirname(target), "." + name + suffix);
}

bool is_shadow_of(std::string_view path, std::string_view txid) {
  const std::string name = basename(path);
  const std::string suffix = ".bpatch-" + std::string(txid);
  return name.size() > suffix.size() + 1 && name[0] == '.' && name.ends_with(suffix);
}

std::string canonical(FileSystem& fs, std::string_view path) {
  if (!path.starts_with('/')) throw Error(Errc::usage, std::string(path), "not an absolute path");
  std::vector<std::string> resolved;
  std::deque<std::string> pending;
  for (auto& p : split(path)) pending.push_back(std::move(p));
  int links = 0;
  while (!pending.empty()) {
    std::string part = std::move(pending.front());
    pending.pop_front();
    if (part == ".") continue;
    if (part == "..") {
      if (!resolved.empty()) resolved.pop_back();
      continue;
    }
    const std::string here = join_all("/", resolved) + (resolved.empty() ? "" : "/") + part;
    const auto st = fs.lstat(here);
    if (!st) {
      // The rest does not exist (yet): keep it as written, lexically.
      std::string out = here;
      for (const auto& rest : pending) out = join(out, rest);
      return absolute(out, "/");
    }
    if (st->type == FileType::symlink) {
      if (++links > kMaxSymlinks)
        throw Error(Errc::invalid_path, std::string(path), "too many levels of symbolic links");
      const std::string target = fs.read_link(here);
      if (target.starts_with('/')) resolved.clear();
      const auto parts = split(target);
      for (auto it = parts.rbegin(); it != parts.rend(); ++it) pending.push_front(*it);
      continue;
    }
    resolved.push_back(std::move(part));
  }
  return join_all("/", resolved);
}

std::string canonical_parent(FileSystem& fs, std::string_view path) {
  const std::string abs = absolute(path, "/");
  if (abs == "/") return abs;
  return join(canonical(fs, dirname(abs)), basename(abs));
}

ResolvedPath resolve_in_root(FileSystem& fs, const std::string& root, std::string_view relative,
                             bool allow_missing, bool follow_final) {
  const std::string shown(relative);
  if (relative.empty() || relative.starts_with('/'))
    throw Error(Errc::invalid_path, shown, "paths must be relative to the root");
  if (relative.find('\0') != std::string_view::npos)
    throw Error(Errc::invalid_path, shown, "path contains a NUL byte");

  std::vector<std::string> resolved;  // real directories below root, then the file
  std::deque<std::string> pending;
  for (auto& p : split(relative)) pending.push_back(std::move(p));
  int links = 0;

  while (!pending.empty()) {
    std::string part = std::move(pending.front());
    pending.pop_front();
    if (part == ".") continue;
    if (part == "..") {
      if (resolved.empty())
        throw Error(Errc::invalid_path, shown, "path leads outside the root " + root);
      resolved.pop_back();
      continue;
    }
    const bool last = pending.empty();
    const std::string here = join_all(root, resolved) + "/" + part;
    const auto st = fs.lstat(here);
    if (!st) {
      if (!allow_missing) throw Error(Errc::not_found, here, "does not exist", ENOENT);
      ResolvedPath out;
      std::string dir = join_all(root, resolved);
      // Everything from here on is missing: all but the last are directories to create.
      pending.push_front(std::move(part));
      while (pending.size() > 1) {
        if (pending.front() == ".." || pending.front() == ".")
          throw Error(Errc::invalid_path, shown, "`.`/`..` after a missing directory");
        dir = join(dir, pending.front());
        out.missing_dirs.push_back(dir);
        pending.pop_front();
      }
      if (pending.front() == ".." || pending.front() == ".")
        throw Error(Errc::invalid_path, shown, "path does not name a file");
      out.path = join(dir, pending.front());
      return out;
    }
    if (st->type == FileType::symlink && last && !follow_final)
      return ResolvedPath{join(join_all(root, resolved), part), st, {}};
    if (st->type == FileType::symlink) {
      if (++links > kMaxSymlinks)
        throw Error(Errc::invalid_path, shown, "too many levels of symbolic links");
      const std::string target = fs.read_link(here);
      std::vector<std::string> parts;
      if (target.starts_with('/')) {
        // An absolute link is allowed only when it points inside root.
        const std::string abs = absolute(target, "/");
        if (abs != root && !abs.starts_with(root == "/" ? root : root + "/"))
          throw Error(Errc::invalid_path, shown,
                      "symbolic link " + here + " leads outside the root " + root);
        resolved.clear();
        parts = split(std::string_view(abs).substr(root.size()));
      } else {
        parts = split(target);
      }
      for (auto it = parts.rbegin(); it != parts.rend(); ++it) pending.push_front(*it);
      continue;
    }
    if (!last && st->type != FileType::directory)
      throw Error(Errc::not_found, here, "is not a directory", ENOTDIR);
    resolved.push_back(std::move(part));
    if (last) return ResolvedPath{join_all(root, resolved), st, {}};
  }
  throw Error(Errc::invalid_path, shown, "path names the root itself, not a file");
}

}  // namespace bpatch::paths
