#include "proxy/h2_allocator.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace switchyard::proxy {
namespace {

nghttp2_nv field(std::string_view name, std::string_view value) {
  return {reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
          reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(), value.size(),
          NGHTTP2_NV_FLAG_NONE};
}

TEST(H2AllocatorTest, AReleasedBlockServesTheNextRequestOfItsSizeClass) {
  H2Allocator a;
  void* p = a.allocate(100);
  void* other = a.allocate(300);
  a.release(p);
  EXPECT_EQ(a.freeBytes(), 112u);  // 100 rounded up to the 16-byte granule
  EXPECT_EQ(a.allocate(97), p);    // the same class (97..112)
  EXPECT_EQ(a.freeBytes(), 0u);
  void* q = a.allocate(100);  // the list is empty again: a new block
  EXPECT_NE(q, p);
  a.release(p);
  void* r = a.allocate(200);  // another class does not take it
  EXPECT_NE(r, p);
  for (void* b : {other, q, r})
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(b) % H2Allocator::kGranule, 0u);
  for (void* b : {other, q, r}) a.release(b);
}

TEST(H2AllocatorTest, ZeroedBlocksAreZeroEvenWhenReused) {
  H2Allocator a;
  auto* p = static_cast<unsigned char*>(a.allocate(64));
  std::memset(p, 0xAB, 64);
  a.release(p);
  auto* z = static_cast<unsigned char*>(a.allocateZeroed(64));
  ASSERT_EQ(z, p);
  for (int i = 0; i < 64; ++i) EXPECT_EQ(z[i], 0) << i;
  a.release(z);
}

TEST(H2AllocatorTest, ReallocateKeepsTheBytesAcrossClassesAndIntoLargeBlocks) {
  H2Allocator a;
  auto* p = static_cast<char*>(a.allocate(20));
  std::memcpy(p, "0123456789abcdefghi", 20);
  EXPECT_EQ(a.reallocate(p, 32), p);  // still fits its 32-byte block
  auto* q = static_cast<char*>(a.reallocate(p, 500));
  EXPECT_STREQ(q, "0123456789abcdefghi");
  auto* r = static_cast<char*>(a.reallocate(q, 5000));  // beyond kMaxSmall: malloc's
  EXPECT_STREQ(r, "0123456789abcdefghi");
  a.release(r);
  EXPECT_EQ(a.freeBytes(), 32u + 512u);     // the two small blocks left behind; the large one freed
  void* fresh = a.reallocate(nullptr, 10);  // as malloc
  EXPECT_NE(fresh, nullptr);
  a.release(fresh);
}

TEST(H2AllocatorTest, TheFreeListsKeepAtMostTheirBound) {
  H2Allocator a;
  std::vector<void*> blocks;
  for (std::size_t n = 0; n < 2 * H2Allocator::kMaxFreeBytes / 512; ++n)
    blocks.push_back(a.allocate(512));
  for (void* p : blocks) a.release(p);
  EXPECT_EQ(a.freeBytes(), H2Allocator::kMaxFreeBytes);
}

TEST(H2AllocatorTest, AnNghttp2SessionRunsOnIt) {
  // A client session's request and a server session's answer, both allocating through the
  // allocator, including the streams each ends and the header strings each decodes.
  H2Allocator ca, sa;
  nghttp2_session_callbacks* cbs = nullptr;
  nghttp2_session_callbacks_new(&cbs);
  int requests = 0;
  nghttp2_session_callbacks_set_on_frame_recv_callback(
      cbs, [](nghttp2_session*, const nghttp2_frame* f, void* ud) {
        if (f->hd.type == NGHTTP2_HEADERS && (f->hd.flags & NGHTTP2_FLAG_END_STREAM))
          ++*static_cast<int*>(ud);
        return 0;
      });
  nghttp2_session* client = nullptr;
  nghttp2_session* server = nullptr;
  ASSERT_EQ(nghttp2_session_client_new3(&client, cbs, &requests, nullptr, ca.mem()), 0);
  ASSERT_EQ(nghttp2_session_server_new3(&server, cbs, &requests, nullptr, sa.mem()), 0);
  nghttp2_session_callbacks_del(cbs);
  nghttp2_submit_settings(client, NGHTTP2_FLAG_NONE, nullptr, 0);
  nghttp2_submit_settings(server, NGHTTP2_FLAG_NONE, nullptr, 0);
  const std::string path = "/a/path/longer/than/any/static/table/entry";
  for (int i = 0; i < 50; ++i) {
    nghttp2_nv nv[] = {field(":method", "GET"), field(":scheme", "http"),
                       field(":authority", "test"), field(":path", path)};
    ASSERT_GT(nghttp2_submit_request(client, nullptr, nv, 4, nullptr, nullptr), 0);
  }
  const uint8_t* data = nullptr;
  ssize_t n = 0;
  while ((n = nghttp2_session_mem_send(client, &data)) > 0)
    ASSERT_EQ(nghttp2_session_mem_recv(server, data, static_cast<size_t>(n)), n);
  EXPECT_EQ(requests, 50);
  nghttp2_session_del(server);
  nghttp2_session_del(client);
  EXPECT_GT(ca.freeBytes(), 0u);  // what the sessions freed went to the lists
  EXPECT_GT(sa.freeBytes(), 0u);
}

}  // namespace
}  // namespace switchyard::proxy
