/*
 * malloc.c - a first-fit free-list allocator over the descriptor's heap region.
 *
 * Every block starts with a 16-byte header holding its total size (header included, a multiple of
 * 16) and, in the low bit, whether it is in use. Free blocks additionally keep the next free block
 * in the first payload word; the free list is sorted by address so that free() can merge a block
 * with both neighbours in one pass, which keeps fragmentation low without boundary tags. Simple and
 * O(free blocks) per call: a guest's heap is small (1 MiB by default) and sandboxes are reset from
 * snapshots, so long-running fragmentation is not the concern a general malloc has.
 */
#include "internal.h"

#define ALIGN 16u
#define HDR 16u
#define MIN_BLOCK 32u /* header + room for the free-list link, rounded to ALIGN */

typedef struct block {
  size_t size; /* total bytes, header included; bit 0 set while in use */
  size_t pad;  /* keeps the payload 16-byte aligned */
  struct block *next_free; /* only meaningful while free */
} block;

static uint8_t *heap_lo, *heap_hi;
static block *free_list;

void glint_heap_init(void *base, size_t size) {
  uintptr_t lo = ((uintptr_t)base + ALIGN - 1) & ~(uintptr_t)(ALIGN - 1);
  uintptr_t hi = ((uintptr_t)base + size) & ~(uintptr_t)(ALIGN - 1);
  free_list = NULL;
  heap_lo = heap_hi = (uint8_t *)lo;
  if (size == 0 || hi <= lo || hi - lo < MIN_BLOCK) return;
  heap_hi = (uint8_t *)hi;
  free_list = (block *)lo;
  free_list->size = hi - lo;
  free_list->next_free = NULL;
}

static size_t block_size(const block *b) { return b->size & ~(size_t)1; }

/* Bytes a request needs as a block, or 0 when it cannot be satisfied at all. */
static size_t needed(size_t n) {
  if (n > (size_t)(heap_hi - heap_lo)) return 0;
  size_t total = (n + HDR + ALIGN - 1) & ~(size_t)(ALIGN - 1);
  return total < MIN_BLOCK ? MIN_BLOCK : total;
}

void *GLINT_LIBC(malloc)(size_t n) {
  size_t want = needed(n);
  if (want == 0) return NULL;
  for (block **link = &free_list; *link; link = &(*link)->next_free) {
    block *b = *link;
    size_t have = block_size(b);
    if (have < want) continue;
    if (have - want >= MIN_BLOCK) {
      /* Split: the tail stays free and takes this block's place in the list. */
      block *rest = (block *)((uint8_t *)b + want);
      rest->size = have - want;
      rest->next_free = b->next_free;
      *link = rest;
      b->size = want | 1;
    } else {
      *link = b->next_free;
      b->size = have | 1;
    }
    return (uint8_t *)b + HDR;
  }
  return NULL;
}

/* The block of a payload pointer, or NULL when p is not one this heap handed out. */
static block *block_of(void *p) {
  uint8_t *q = p;
  if (q < heap_lo + HDR || q >= heap_hi || ((uintptr_t)q & (ALIGN - 1))) return NULL;
  block *b = (block *)(q - HDR);
  if (!(b->size & 1)) return NULL;
  return b;
}

void GLINT_LIBC(free)(void *p) {
  if (!p) return;
  block *b = block_of(p);
  if (!b) glint_abort(GLINT_ABORT_USAGE, "free(%p): not an allocated block", p);
  b->size &= ~(size_t)1;
  /* Insert sorted by address, then merge with the following and the preceding free block. */
  block *prev = NULL, *next = free_list;
  while (next && next < b) {
    prev = next;
    next = next->next_free;
  }
  b->next_free = next;
  if (next && (uint8_t *)b + b->size == (uint8_t *)next) {
    b->size += next->size;
    b->next_free = next->next_free;
  }
  if (prev) {
    prev->next_free = b;
    if ((uint8_t *)prev + prev->size == (uint8_t *)b) {
      prev->size += b->size;
      prev->next_free = b->next_free;
    }
  } else {
    free_list = b;
  }
}

void *GLINT_LIBC(calloc)(size_t nmemb, size_t size) {
  if (size && nmemb > (size_t)-1 / size) return NULL;
  void *p = GLINT_LIBC(malloc)(nmemb * size);
  if (p) GLINT_LIBC(memset)(p, 0, nmemb * size);
  return p;
}

void *GLINT_LIBC(realloc)(void *p, size_t n) {
  if (!p) return GLINT_LIBC(malloc)(n);
  if (n == 0) {
    GLINT_LIBC(free)(p);
    return NULL;
  }
  block *b = block_of(p);
  if (!b) glint_abort(GLINT_ABORT_USAGE, "realloc(%p): not an allocated block", p);
  size_t want = needed(n);
  if (want == 0) return NULL;
  size_t have = block_size(b);
  if (want > have) {
    /* Grow in place when the next block is free and big enough together with this one. */
    block *after = (block *)((uint8_t *)b + have);
    if ((uint8_t *)after < heap_hi && !(after->size & 1) && have + after->size >= want) {
      block **link = &free_list;
      while (*link != after) link = &(*link)->next_free;
      *link = after->next_free;
      have += after->size;
      b->size = have | 1;
    } else {
      void *q = GLINT_LIBC(malloc)(n);
      if (!q) return NULL; /* the old block stays valid, as C requires */
      GLINT_LIBC(memcpy)(q, p, have - HDR);
      GLINT_LIBC(free)(p);
      return q;
    }
  }
  if (have - want >= MIN_BLOCK) {
    /* Give the tail back: mark it as a used block and free it, which merges it. */
    block *rest = (block *)((uint8_t *)b + want);
    rest->size = (have - want) | 1;
    b->size = want | 1;
    GLINT_LIBC(free)((uint8_t *)rest + HDR);
  }
  return p;
}

int glint_heap_check(void) {
  /* Walk every block: sizes must tile the heap exactly; the free list must be sorted, hold only
   * free blocks, and no two free blocks may be adjacent (free merges them). */
  size_t free_blocks = 0;
  uint8_t *q = heap_lo;
  bool prev_free = false;
  while (q < heap_hi) {
    block *b = (block *)q;
    size_t s = block_size(b);
    if (s < MIN_BLOCK || s % ALIGN || s > (size_t)(heap_hi - q)) return -1;
    bool is_free = !(b->size & 1);
    if (is_free && prev_free) return -2;
    if (is_free) free_blocks++;
    prev_free = is_free;
    q += s;
  }
  if (q != heap_hi) return -3;
  size_t listed = 0;
  for (block *b = free_list; b; b = b->next_free) {
    if (b->size & 1) return -4;
    if (b->next_free && b->next_free <= b) return -5;
    listed++;
  }
  return listed == free_blocks ? 0 : -6;
}
