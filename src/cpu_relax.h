/* cs_cpu_relax: one pause in a spin-wait (x86's PAUSE: the core yields to
 * its sibling and the loop does not flood the memory system; nothing
 * elsewhere).  Shared by the two sides of decrypting ahead, the pipeline
 * waiting for a job (app) and the report thread polling for one (report). */
#ifndef CS_CPU_RELAX_H
#define CS_CPU_RELAX_H

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define cs_cpu_relax() _mm_pause()
#else
#define cs_cpu_relax() ((void)0)
#endif

#endif
