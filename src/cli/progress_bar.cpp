#include "progress_bar.hpp"

#include <unistd.h>

#include <cstdio>
#include <string>

namespace bpatch::cli {
namespace {

constexpr uint64_t kMinBytesForBar = 32 << 20;  // smaller work finishes before a bar helps
constexpr auto kRedrawInterval = std::chrono::milliseconds(100);

std::string human_bytes(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (bytes >= 1024 && u < 4) {
    bytes /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", bytes, units[u]);
  return buf;
}

}  // namespace

ProgressBar::ProgressBar(bool enabled)
    : enabled_(enabled && ::isatty(STDERR_FILENO) == 1), start_(std::chrono::steady_clock::now()) {}

void ProgressBar::clear() {
  if (drawn_) std::fprintf(stderr, "\r\033[K");
  drawn_ = false;
}

void ProgressBar::update(const Progress& p) {
  if (!enabled_ || (p.bytes_total < kMinBytesForBar && p.files_total < 1000)) return;
  const auto now = std::chrono::steady_clock::now();
  if (drawn_ && now - last_draw_ < kRedrawInterval) return;
  last_draw_ = now;
  drawn_ = true;
  const double seconds = std::chrono::duration<double>(now - start_).count();
  const double rate = seconds > 0 ? static_cast<double>(p.bytes_done) / seconds : 0;
  const double fraction =
      p.bytes_total > 0
          ? std::min(1.0, static_cast<double>(p.bytes_done) / static_cast<double>(p.bytes_total))
      : p.files_total > 0 ? static_cast<double>(p.files_done) / static_cast<double>(p.files_total)
                          : 0;
  constexpr int kWidth = 30;
  const int filled = static_cast<int>(fraction * kWidth);
  std::string bar(static_cast<size_t>(filled), '#');
  bar.resize(kWidth, '.');
  std::string eta = "--";
  if (fraction > 0.01 && fraction < 1) {
    const int left = static_cast<int>(seconds / fraction - seconds);
    eta = std::to_string(left / 60) + "m" + (left % 60 < 10 ? "0" : "") +
          std::to_string(left % 60) + "s";
  }
  std::fprintf(stderr, "\r\033[K[%s] %3.0f%%  %s / %s  %llu/%llu files  %s/s  ETA %s", bar.c_str(),
               fraction * 100, human_bytes(static_cast<double>(p.bytes_done)).c_str(),
               human_bytes(static_cast<double>(p.bytes_total)).c_str(),
               static_cast<unsigned long long>(p.files_done),
               static_cast<unsigned long long>(p.files_total), human_bytes(rate).c_str(),
               eta.c_str());
  std::fflush(stderr);
}

}  // namespace bpatch::cli
