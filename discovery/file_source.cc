#include "discovery/file_source.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

#include "discovery/instance_file.h"

namespace switchyard::discovery {

namespace {
// Instance files are short lists; anything this big is a mistake (or /dev/zero).
constexpr int64_t kMaxFileBytes = 16 << 20;
}  // namespace

FileSource::FileSource(boost::asio::io_context& control, std::string path,
                       std::chrono::milliseconds poll_interval, std::string cluster)
    : control_(control),
      path_(std::move(path)),
      cluster_(std::move(cluster)),
      poll_interval_(poll_interval),
      timer_(control),
      resolver_(control) {}

FileSource::~FileSource() { stop(); }

void FileSource::start(UpdateCallback on_update) {
  on_update_ = std::move(on_update);
  running_ = true;
  poll();
}

void FileSource::stop() {
  running_ = false;
  on_update_ = nullptr;
  timer_.cancel();
  resolver_.cancel();
}

void FileSource::schedule() {
  if (!running_) return;
  timer_.expires_after(poll_interval_);
  std::weak_ptr<char> alive = alive_;
  timer_.async_wait([this, alive](const boost::system::error_code& ec) {
    if (alive.expired() || ec || !running_) return;
    poll();
  });
}

void FileSource::poll() {
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0) {
    logError(std::string("cannot read: ") + std::strerror(errno));
  } else {
    Stamp stamp{st.st_dev, st.st_ino,
                static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec,
                static_cast<int64_t>(st.st_size)};
    if (!have_stamp_ || stamp != stamp_) readFile(stamp);
  }
  schedule();
}

void FileSource::readFile(const Stamp& stamp) {
  if (stamp.size > kMaxFileBytes) {
    logError("file is larger than 16 MiB");
    return;
  }
  std::ifstream in(path_, std::ios::binary);
  if (!in.is_open()) {
    logError(std::string("cannot open: ") + std::strerror(errno));
    return;
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) {
    logError(std::string("cannot read: ") + std::strerror(errno));
    return;
  }
  std::string text = std::move(buffer).str();

  auto parsed = parseInstanceFile(text);
  if (!parsed) {
    // The stamp is not recorded: the next poll reads it again, which also catches a rewrite
    // that kept the same mtime and size.
    logError(parsed.error().message);
    return;
  }
  // mtime ticks are coarse (a few ms on many file systems): a second rewrite of the same size
  // within one tick would keep the stamp. While the file is that fresh it is read at every poll;
  // unchanged text costs a parse and nothing more.
  const int64_t now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  have_stamp_ = now_ns - stamp.mtime_ns > 1'000'000'000;
  stamp_ = stamp;
  error_log_.reset();
  if (have_text_ && text == last_text_) return;
  have_text_ = true;
  last_text_ = std::move(text);
  for (const auto& error : parsed->entry_errors)
    spdlog::error("{}: skipping entry: {}", logName(), error);

  // A new read supersedes a resolution still in flight for older content.
  resolver_.resolve(std::move(parsed->instances),
                    [this](InstanceSet set, std::vector<std::string> errors) {
                      onResolved(std::move(set), std::move(errors));
                    });
}

void FileSource::onResolved(InstanceSet set, std::vector<std::string> errors) {
  if (!running_) return;
  for (const auto& error : errors) spdlog::error("{}: skipping {}", logName(), error);
  if (ready_ && set == last_set_) return;
  ready_ = true;
  last_set_ = set;
  spdlog::info("{}: {} instance(s)", logName(), last_set_.instances.size());
  // A copy: the callback may stop() this source, which clears on_update_.
  if (auto callback = on_update_) callback(std::move(set));
}

std::string FileSource::logName() const {
  return cluster_.empty() ? describe() : "cluster " + cluster_ + ": " + describe();
}

void FileSource::logError(const std::string& message) {
  if (!error_log_.allow(message, Clock::now())) return;
  spdlog::error("{}: {}{}", logName(), message,
                ready_ ? " (keeping the last good set)" : " (not ready until it can be read)");
}

}  // namespace switchyard::discovery
