#include "testing/test_files.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "bpatch/hash.hpp"

namespace fs = std::filesystem;

namespace bpatch::testing {

TempDir::TempDir() {
  std::string tmpl = (fs::temp_directory_path() / "bpatch-test-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  path_ = fs::canonical(tmpl).string();
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const std::string& path, const std::string& content) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  if (!out) throw std::runtime_error("cannot write " + path);
}

bool exists(const std::string& path) {
  std::error_code ec;
  return fs::symlink_status(path, ec).type() != fs::file_type::not_found;
}

std::string random_bytes(std::mt19937_64& rng, size_t n) {
  std::string out(n, '\0');
  for (auto& c : out) c = static_cast<char>(rng() & 0xff);
  return out;
}

Tree snapshot(const std::string& root) {
  Tree tree;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator();
       ++it) {
    const std::string rel = fs::relative(it->path(), root).string();
    if (rel == ".bpatch/LOCK") continue;
    if (it->is_symlink())
      tree[rel] = "symlink:" + fs::read_symlink(it->path()).string();
    else if (it->is_directory())
      tree[rel] = "dir";
    else if (it->is_regular_file())
      tree[rel] = read_file(it->path().string());
    else
      tree[rel] = "special";
  }
  return tree;
}

namespace {

std::string drain(int fd) {
  std::string out;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

}  // namespace

CommandResult run(const std::vector<std::string>& argv, const std::string& cwd) {
  // stdout and stderr go to temporary files so that large outputs cannot deadlock.
  TempDir io;
  const std::string out_path = io / "out", err_path = io / "err";
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    const int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int null = ::open("/dev/null", O_RDONLY);
    ::dup2(null, 0);
    ::dup2(out, 1);
    ::dup2(err, 2);
    if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) ::_exit(127);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
  }
  CommandResult result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  const int out = ::open(out_path.c_str(), O_RDONLY), err = ::open(err_path.c_str(), O_RDONLY);
  result.out = drain(out);
  result.err = drain(err);
  ::close(out);
  ::close(err);
  return result;
}

std::string bpatch_binary() {
#ifdef BPATCH_CLI_PATH
  return BPATCH_CLI_PATH;
#else
  return "bpatch";
#endif
}

CommandResult bpatch_cmd(std::vector<std::string> args, const std::string& cwd) {
  args.insert(args.begin(), bpatch_binary());
  return run(args, cwd);
}

std::string source_dir() {
#ifdef BPATCH_SOURCE_DIR
  return BPATCH_SOURCE_DIR;
#else
  return ".";
#endif
}

bool is_undo_generation(const std::string& path) {
  return path.starts_with(".bpatch/undo-") || path.starts_with(".bpatch/keep-") ||
         path.find(".bpatch-keep-") != std::string::npos;
}

std::string xxh3(const std::string& bytes) {
  return hash_bytes(std::as_bytes(std::span(bytes.data(), bytes.size()))).hex();
}

}  // namespace bpatch::testing
