#pragma once
// The memory behind one nghttp2 session (nghttp2_mem): small blocks come from free lists kept
// per size class and go back to them, so that the objects nghttp2 makes and drops for every
// stream (the stream, its queued HEADERS item, the copied header list, the decoded header
// strings) are reused instead of going through malloc and free each time. A burst of streams
// overflows glibc's per-thread cache (7 blocks per size) and every further block then costs a
// trip through its bins; these lists keep up to kMaxFreeBytes.
//
// Blocks above kMaxSmall go straight to malloc. One allocator per session: worker thread only,
// and it must outlive the session (nghttp2_session_del frees through it).

#include <nghttp2/nghttp2.h>

#include <array>
#include <cstddef>
#include <cstdint>

namespace switchyard::proxy {

class H2Allocator {
 public:
  static constexpr std::size_t kGranule = 16;     // size classes step by this; also the alignment
  static constexpr std::size_t kMaxSmall = 1024;  // larger blocks are malloc's
  static constexpr std::size_t kMaxFreeBytes = 256 * 1024;  // kept on the lists at most

  H2Allocator();
  ~H2Allocator();
  H2Allocator(const H2Allocator&) = delete;
  H2Allocator& operator=(const H2Allocator&) = delete;

  // For nghttp2_session_client_new3 / server_new3; valid as long as this allocator.
  nghttp2_mem* mem() { return &mem_; }

  void* allocate(std::size_t size);
  void* allocateZeroed(std::size_t size);
  void release(void* p);
  void* reallocate(void* p, std::size_t size);

  // Bytes held on the free lists (for tests).
  std::size_t freeBytes() const { return free_bytes_; }

 private:
  struct FreeBlock {
    FreeBlock* next;
  };
  static constexpr std::size_t kClasses = kMaxSmall / kGranule;

  nghttp2_mem mem_;
  std::array<FreeBlock*, kClasses> free_{};
  std::size_t free_bytes_ = 0;
};

}  // namespace switchyard::proxy
