// DecodedStream implementations: inline decoding and a prefetching worker.
#include "formats/bsdiff_stream.hpp"

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <exception>
#include <system_error>
#include <thread>
#include <vector>

#include "bpatch/error.hpp"
#include "formats/bsdiff_bzip2.hpp"

namespace bpatch::formats {
namespace {

constexpr size_t kChunkSize = 64 * 1024;
constexpr size_t kChunks = 3;

// Fills `buf` from `bz`; returns the count, short only at the stream's end.
size_t fill(Bzip2Stream& bz, std::span<std::byte> buf) {
  size_t n = 0;
  while (n < buf.size()) {
    const size_t got = bz.read(buf.subspan(n));
    if (got == 0) break;
    n += got;
  }
  return n;
}

class InlineStream final : public DecodedStream {
 public:
  explicit InlineStream(std::unique_ptr<Bzip2Stream> bz) : bz_(std::move(bz)), buf_(kChunkSize) {}

  std::span<const std::byte> next(size_t max) override {
    if (pos_ == len_) {
      len_ = fill(*bz_, buf_);
      pos_ = 0;
      if (len_ == 0) return {};
    }
    const size_t n = std::min(max, len_ - pos_);
    const std::span<const std::byte> view(buf_.data() + pos_, n);
    pos_ += n;
    return view;
  }
  const std::string& label() const override { return bz_->label(); }

 private:
  std::unique_ptr<Bzip2Stream> bz_;
  std::vector<std::byte> buf_;
  size_t pos_ = 0;
  size_t len_ = 0;
};

// A worker decodes into free chunks and queues them; the owner consumes
// queued chunks and gives them back. The worker's failure is handed to the
// owner when it reaches the point where the stream failed.
class PrefetchStream final : public DecodedStream {
 public:
  // Takes `bz` over, or leaves it in place when it throws (no thread).
  explicit PrefetchStream(std::unique_ptr<Bzip2Stream>& bz) {
    chunks_.resize(kChunks);
    for (auto& c : chunks_) {
      c.data.resize(kChunkSize);
      free_.push_back(&c);
    }
    bz_ = std::move(bz);
    try {
      worker_ = std::thread([this] { run(); });
    } catch (...) {
      bz = std::move(bz_);
      throw;
    }
  }

  ~PrefetchStream() override {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    cv_.notify_all();
    worker_.join();
  }

  std::span<const std::byte> next(size_t max) override {
    if (current_ == nullptr || pos_ == current_->size) {
      std::unique_lock lock(mutex_);
      if (current_ != nullptr) {
        free_.push_back(current_);
        current_ = nullptr;
        cv_.notify_all();
      }
      cv_.wait(lock, [this] { return !full_.empty() || done_; });
      if (full_.empty()) {
        if (error_) std::rethrow_exception(error_);
        return {};
      }
      current_ = full_.front();
      full_.pop_front();
      pos_ = 0;
    }
    const size_t n = std::min(max, current_->size - pos_);
    const std::span<const std::byte> view(current_->data.data() + pos_, n);
    pos_ += n;
    return view;
  }
  const std::string& label() const override { return bz_->label(); }

 private:
  struct Chunk {
    std::vector<std::byte> data;
    size_t size = 0;
  };

  void run() {
    try {
      for (;;) {
        Chunk* chunk = nullptr;
        {
          std::unique_lock lock(mutex_);
          cv_.wait(lock, [this] { return !free_.empty() || stop_; });
          if (stop_) return;
          chunk = free_.back();
          free_.pop_back();
        }
        chunk->size = fill(*bz_, chunk->data);
        const bool last = chunk->size < chunk->data.size();
        {
          std::lock_guard lock(mutex_);
          if (chunk->size > 0)
            full_.push_back(chunk);
          else
            free_.push_back(chunk);
          done_ = last;
        }
        cv_.notify_all();
        if (last) return;
      }
    } catch (...) {
      {
        std::lock_guard lock(mutex_);
        error_ = std::current_exception();
        done_ = true;
      }
      cv_.notify_all();
    }
  }

  std::unique_ptr<Bzip2Stream> bz_;  // used only by the worker once started
  std::vector<Chunk> chunks_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<Chunk*> free_;  // guarded by mutex_
  std::deque<Chunk*> full_;   // guarded by mutex_
  bool done_ = false;         // guarded by mutex_: the worker has finished
  bool stop_ = false;         // guarded by mutex_: the owner is going away
  std::exception_ptr error_;  // guarded by mutex_
  Chunk* current_ = nullptr;  // owner only
  size_t pos_ = 0;            // owner only
  std::thread worker_;
};

}  // namespace

bool DecodedStream::read_exact(std::span<std::byte> out) {
  size_t done = 0;
  while (done < out.size()) {
    const auto view = next(out.size() - done);
    if (view.empty()) return false;
    std::memcpy(out.data() + done, view.data(), view.size());
    done += view.size();
  }
  return true;
}

void DecodedStream::expect_end(const std::string& patch_name, const std::string& context,
                               uint64_t consumed) {
  uint64_t extra = consumed;
  for (auto view = next(kChunkSize); !view.empty(); view = next(kChunkSize)) {
    extra += view.size();
    if (extra >= (uint64_t{1} << 20)) break;  // enough to know it is wrong
  }
  if (extra > 0)
    throw Error(Errc::bad_patch, patch_name,
                label() + " holds " + (extra >= (uint64_t{1} << 20) ? "at least " : "") +
                    std::to_string(extra) + " unused decoded bytes " + context);
}

std::unique_ptr<DecodedStream> open_decoded_stream(const Source& patch, uint64_t begin,
                                                   uint64_t end, std::string label,
                                                   std::mutex& patch_lock, bool background) {
  auto bz = std::make_unique<Bzip2Stream>(patch, begin, end, std::move(label), &patch_lock);
  if (background) {
    try {
      return std::make_unique<PrefetchStream>(bz);
    } catch (const std::system_error&) {
      // No thread could be started: decode inline instead.
    }
  }
  return std::make_unique<InlineStream>(std::move(bz));
}

}  // namespace bpatch::formats
