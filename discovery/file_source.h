#pragma once
// `discovery: { file: PATH }`: an instance file (format in instance_file.h), re-read when it
// changes without a restart. The file is polled (device, inode, mtime, size) every 500 ms with a
// timer on the control context: simpler than inotify and robust with editors and tools that
// replace the file by a rename.
//
// A missing, unreadable or malformed file keeps the last good set, logs why (the same message at
// most once a minute) and is retried at the next poll; a bad entry skips that entry only. Until
// the file has been read once, the source is not ready. on_update is called only when the
// resolved set changes.

#include <sys/types.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "discovery/discovery_source.h"
#include "discovery/host_resolver.h"
#include "discovery/log_limiter.h"

namespace switchyard::discovery {

class FileSource final : public DiscoverySource {
 public:
  FileSource(boost::asio::io_context& control, std::string path,
             std::chrono::milliseconds poll_interval = std::chrono::milliseconds(500),
             std::string cluster = {});  // cluster name, for logs only
  ~FileSource() override;

  void start(UpdateCallback on_update) override;
  void stop() override;
  bool ready() const override { return ready_; }
  std::string describe() const override { return "file:" + path_; }

 private:
  // What a poll compares; a rename-over changes the inode even when mtime and size match.
  struct Stamp {
    dev_t device = 0;
    ino_t inode = 0;
    int64_t mtime_ns = 0;
    int64_t size = -1;
    friend bool operator==(const Stamp&, const Stamp&) = default;
  };

  void poll();
  void schedule();
  void readFile(const Stamp& stamp);
  void onResolved(InstanceSet set, std::vector<std::string> errors);
  void logError(const std::string& message);
  std::string logName() const;

  boost::asio::io_context& control_;
  std::string path_;
  std::string cluster_;
  std::chrono::milliseconds poll_interval_;
  boost::asio::steady_timer timer_;
  HostResolver resolver_;
  UpdateCallback on_update_;
  bool running_ = false;
  bool ready_ = false;
  bool have_stamp_ = false;  // stamp_ is that of the last good read, and old enough to trust
  Stamp stamp_;
  bool have_text_ = false;
  std::string last_text_;  // content of the last good read: a touch alone re-resolves nothing
  InstanceSet last_set_;
  LogLimiter error_log_;
  std::shared_ptr<char> alive_ = std::make_shared<char>();
};

}  // namespace switchyard::discovery
