#include "proxy/h2_allocator.h"

#include <cstdlib>
#include <cstring>

namespace switchyard::proxy {

namespace {

// Every block starts with a header of one granule holding its capacity (the payload stays
// aligned as malloc's is).
struct alignas(H2Allocator::kGranule) BlockHeader {
  std::size_t capacity;
};
static_assert(sizeof(BlockHeader) == H2Allocator::kGranule);

BlockHeader* headerOf(void* p) { return static_cast<BlockHeader*>(p) - 1; }

std::size_t roundUp(std::size_t size) {
  return (size + H2Allocator::kGranule - 1) / H2Allocator::kGranule * H2Allocator::kGranule;
}

}  // namespace

H2Allocator::H2Allocator() {
  mem_.mem_user_data = this;
  mem_.malloc = [](size_t size, void* self) {
    return static_cast<H2Allocator*>(self)->allocate(size);
  };
  mem_.free = [](void* p, void* self) { static_cast<H2Allocator*>(self)->release(p); };
  mem_.calloc = [](size_t n, size_t size, void* self) {
    return static_cast<H2Allocator*>(self)->allocateZeroed(n * size);
  };
  mem_.realloc = [](void* p, size_t size, void* self) {
    return static_cast<H2Allocator*>(self)->reallocate(p, size);
  };
}

H2Allocator::~H2Allocator() {
  for (FreeBlock*& head : free_) {
    while (head) {
      FreeBlock* next = head->next;
      std::free(headerOf(head));
      head = next;
    }
  }
}

void* H2Allocator::allocate(std::size_t size) {
  const std::size_t capacity = roundUp(size == 0 ? 1 : size);
  if (capacity <= kMaxSmall) {
    FreeBlock*& head = free_[capacity / kGranule - 1];
    if (head) {
      FreeBlock* block = head;
      head = block->next;
      free_bytes_ -= capacity;
      return block;
    }
  }
  auto* h = static_cast<BlockHeader*>(std::malloc(sizeof(BlockHeader) + capacity));
  if (!h) return nullptr;
  h->capacity = capacity;
  return h + 1;
}

void* H2Allocator::allocateZeroed(std::size_t size) {
  void* p = allocate(size);
  if (p) std::memset(p, 0, size);
  return p;
}

void H2Allocator::release(void* p) {
  if (!p) return;
  BlockHeader* h = headerOf(p);
  const std::size_t capacity = h->capacity;
  if (capacity > kMaxSmall || free_bytes_ + capacity > kMaxFreeBytes) return std::free(h);
  FreeBlock*& head = free_[capacity / kGranule - 1];
  auto* block = static_cast<FreeBlock*>(p);
  block->next = head;
  head = block;
  free_bytes_ += capacity;
}

void* H2Allocator::reallocate(void* p, std::size_t size) {
  if (!p) return allocate(size);
  const std::size_t capacity = headerOf(p)->capacity;
  if (size <= capacity) return p;
  void* q = allocate(size);
  if (!q) return nullptr;  // p stays valid, as realloc leaves it
  std::memcpy(q, p, capacity);
  release(p);
  return q;
}

}  // namespace switchyard::proxy
