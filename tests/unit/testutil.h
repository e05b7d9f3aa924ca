/* Helpers shared by the CUnit test programs. */
#ifndef CS_TESTUTIL_H
#define CS_TESTUTIL_H

#include <CUnit/Basic.h>
#include <CUnit/CUnit.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Copies len bytes next to an unreadable page (picohttpparser's trick):
 * ending exactly at its start, so any read past the end faults at once, or
 * with `before`, starting right after it, so any read before the start
 * does.  Free with guarded_free(). */
struct guarded {
    uint8_t *base;
    size_t maplen;
    uint8_t *data;
};

static inline struct guarded guarded_copy_at(const void *src, size_t len, int before)
{
    struct guarded g;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t data_pages = (len + page - 1) / page;
    if (data_pages == 0)
        data_pages = 1;
    g.maplen = (data_pages + 1) * page;
    g.base = mmap(NULL, g.maplen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (g.base == MAP_FAILED)
        abort();
    if (before) {
        mprotect(g.base, page, PROT_NONE);
        g.data = g.base + page;
    } else {
        mprotect(g.base + data_pages * page, page, PROT_NONE);
        g.data = g.base + data_pages * page - len;
    }
    if (len)
        memcpy(g.data, src, len);
    return g;
}

static inline struct guarded guarded_copy(const void *src, size_t len)
{
    return guarded_copy_at(src, len, 0);
}

static inline void guarded_free(struct guarded *g)
{
    munmap(g->base, g->maplen);
}

/* Runs the registry with the basic interface; returns the exit status. */
static inline int cs_test_run(void)
{
    CU_basic_set_mode(CU_BRM_NORMAL);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}

/* Declares a suite from a NULL-terminated table of {name, fn}. */
struct cs_test_case {
    const char *name;
    void (*fn)(void);
};

static inline void cs_test_add_suite(const char *name, const struct cs_test_case *cases)
{
    CU_pSuite s = CU_add_suite(name, NULL, NULL);
    for (; cases->name; cases++)
        CU_add_test(s, cases->name, cases->fn);
}

#endif
