/* libcustom-alloc.so: an allocator the probe does not know (its file name matches none it looks for), preloaded after
 * the probe: every malloc-family function forwards to glibc's __libc_ names, and its operator new and delete call
 * malloc and free through the PLT, as a custom allocator's often do. The probe must then keep its re-entry guard on
 * the short paths, or a block from operator new would be sampled twice (once by new, once by the nested malloc). */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>

extern void *__libc_malloc(size_t);
extern void __libc_free(void *);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);

void *malloc(size_t n) { return __libc_malloc(n); }
void free(void *p) { __libc_free(p); }
void *calloc(size_t k, size_t n) { return __libc_calloc(k, n); }
void *realloc(void *p, size_t n) { return __libc_realloc(p, n); }
void *memalign(size_t a, size_t n) { return __libc_memalign(a, n); }
void *aligned_alloc(size_t a, size_t n) { return __libc_memalign(a, n); }
int posix_memalign(void **out, size_t a, size_t n) {
  void *p = __libc_memalign(a, n);
  if (!p) return ENOMEM;
  *out = p;
  return 0;
}

/* operator new(size_t), new[](size_t), delete(void*), delete[](void*), sized deletes: over malloc and free. */
void *_Znwm(size_t n) { return malloc(n ? n : 1); }
void *_Znam(size_t n) { return malloc(n ? n : 1); }
void _ZdlPv(void *p) { free(p); }
void _ZdaPv(void *p) { free(p); }
void _ZdlPvm(void *p, size_t n) { (void)n; free(p); }
void _ZdaPvm(void *p, size_t n) { (void)n; free(p); }
