#include "discovery/file_source.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "tests/unit/discovery/run_until.h"

namespace switchyard::discovery {
namespace {

using namespace std::chrono_literals;
using switchyard::testing::runUntil;

class FileSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "sy-file-source-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    path_ = dir_ + "/instances.yaml";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Written beside and renamed over, the way deploy tools and most editors replace a file.
  void replaceFile(const std::string& text) {
    const std::string tmp = path_ + ".tmp";
    std::ofstream(tmp) << text;
    std::filesystem::rename(tmp, path_);
  }
  void rewriteInPlace(const std::string& text) { std::ofstream(path_, std::ios::trunc) << text; }

  std::vector<uint16_t> ports(const InstanceSet& set) {
    std::vector<uint16_t> out;
    for (const auto& instance : set.instances) out.push_back(instance.address.port);
    return out;
  }

  boost::asio::io_context io_;
  std::string dir_;
  std::string path_;
  std::vector<InstanceSet> updates_;
};

TEST_F(FileSourceTest, ReadsTheFileAndFollowsChanges) {
  replaceFile("- \"127.0.0.1:9001\"\n- \"127.0.0.1:9002 3\"\n");
  FileSource source(io_, path_, 20ms);
  EXPECT_EQ(source.describe(), "file:" + path_);
  source.start([&](InstanceSet set) { updates_.push_back(std::move(set)); });
  ASSERT_TRUE(runUntil(io_, [&] { return updates_.size() == 1; }));
  EXPECT_TRUE(source.ready());
  EXPECT_EQ(ports(updates_[0]), (std::vector<uint16_t>{9001, 9002}));
  EXPECT_EQ(updates_[0].instances[1].weight, 3.0);
  EXPECT_TRUE(updates_[0].instances[0].ip.is_loopback());

  replaceFile("- \"127.0.0.1:9003\"\n- { address: \"localhost:9001\", weight: 0.5 }\n");
  ASSERT_TRUE(runUntil(io_, [&] { return updates_.size() == 2; }));
  EXPECT_EQ(ports(updates_[1]), (std::vector<uint16_t>{9003, 9001}));  // "127.0.0.1" < "localhost"
  EXPECT_EQ(updates_[1].instances[1].weight, 0.5);

  rewriteInPlace("- \"127.0.0.1:9004\"\n");
  ASSERT_TRUE(runUntil(io_, [&] { return updates_.size() == 3; }));
  EXPECT_EQ(ports(updates_[2]), (std::vector<uint16_t>{9004}));
}

TEST_F(FileSourceTest, AMalformedOrMissingFileKeepsTheLastSet) {
  replaceFile("- \"127.0.0.1:9001\"\n");
  FileSource source(io_, path_, 20ms);
  source.start([&](InstanceSet set) { updates_.push_back(std::move(set)); });
  ASSERT_TRUE(runUntil(io_, [&] { return updates_.size() == 1; }));

  // Neither a broken file, an empty one nor a missing one replaces the set: ten polls each.
  for (const char* broken : {"- [unclosed\n", "", "just: a map\n"}) {
    replaceFile(broken);
    EXPECT_FALSE(runUntil(
        io_, [&] { return updates_.size() > 1; }, 200ms))
        << broken;
  }
  std::filesystem::remove(path_);
  EXPECT_FALSE(runUntil(
      io_, [&] { return updates_.size() > 1; }, 200ms));
  EXPECT_TRUE(source.ready());

  // Still polling: a good file is picked up again, and a bad entry costs that entry only.
  replaceFile("- \"127.0.0.1:9002\"\n- \"127.0.0.1:bad\"\n- \"no-such-host.invalid:1\"\n");
  ASSERT_TRUE(runUntil(
      io_, [&] { return updates_.size() == 2; }, 30s));
  EXPECT_EQ(ports(updates_[1]), (std::vector<uint16_t>{9002}));
}

TEST_F(FileSourceTest, UnchangedContentOrSetCallsNothing) {
  replaceFile("- \"127.0.0.1:9001\"\n");
  FileSource source(io_, path_, 20ms);
  source.start([&](InstanceSet set) { updates_.push_back(std::move(set)); });
  ASSERT_TRUE(runUntil(io_, [&] { return updates_.size() == 1; }));
  replaceFile("- \"127.0.0.1:9001\"\n");                   // same text, new inode
  replaceFile("# a comment\n- \"127.0.0.1:9001 1.0\"\n");  // other text, same set
  EXPECT_FALSE(runUntil(
      io_, [&] { return updates_.size() > 1; }, 300ms));
}

TEST_F(FileSourceTest, NotReadyUntilTheFileExists) {
  FileSource source(io_, path_, 20ms);
  source.start([&](InstanceSet set) { updates_.push_back(std::move(set)); });
  EXPECT_FALSE(runUntil(
      io_, [&] { return source.ready(); }, 100ms));
  replaceFile("[]\n");
  ASSERT_TRUE(runUntil(io_, [&] { return updates_.size() == 1; }));
  EXPECT_TRUE(source.ready());
  EXPECT_TRUE(updates_[0].instances.empty());
}

TEST_F(FileSourceTest, NoCallbackAfterStop) {
  replaceFile("- \"127.0.0.1:9001\"\n");
  FileSource source(io_, path_, 20ms);
  source.start([&](InstanceSet set) { updates_.push_back(std::move(set)); });
  ASSERT_TRUE(runUntil(io_, [&] { return updates_.size() == 1; }));
  source.stop();
  replaceFile("- \"127.0.0.1:9002\"\n");
  EXPECT_FALSE(runUntil(
      io_, [&] { return updates_.size() > 1; }, 200ms));
}

TEST_F(FileSourceTest, DestroyedWhilePollingIsSafe) {
  replaceFile("- \"localhost:9001\"\n");
  auto source = std::make_unique<FileSource>(io_, path_, 20ms);
  source->start([&](InstanceSet set) { updates_.push_back(std::move(set)); });
  source.reset();  // timer armed and a lookup pending
  EXPECT_FALSE(runUntil(
      io_, [&] { return !updates_.empty(); }, 100ms));
}

}  // namespace
}  // namespace switchyard::discovery
