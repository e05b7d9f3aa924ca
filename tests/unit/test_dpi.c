/* Protocol identification's state (dpi.c, pipeline.c): what nDPI holds for
 * a connection is measured, counted in --max-memory, freed the moment nDPI
 * decides or gives up (not when the connection ends), and at most
 * --max-dpi-flows connections hold it at once, each refusal counted. */
#include <ndpi_api.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "testutil.h"
#include "pipeline.h"

#define SERVER_PORT 7777

/* One Ethernet/IPv4/TCP frame from (client i) or to it. */
struct frame_buf {
    uint8_t b[1600];
    uint32_t n;
};

static uint64_t frame_no;

static void frame(struct cs_pipeline *p, unsigned client, bool from_server, uint8_t flags,
                  uint32_t seq, uint32_t ack, const void *payload, uint32_t len)
{
    struct frame_buf f = {.n = 14 + 20 + 20 + len};
    uint8_t cip[4] = {10, (uint8_t)(client >> 16), (uint8_t)(client >> 8), (uint8_t)client};
    uint8_t sip[4] = {198, 51, 100, 20};
    uint16_t cport = (uint16_t)(20000 + client % 40000);
    uint8_t *e = f.b, *ip = e + 14, *tcp = ip + 20;
    e[12] = 0x08;
    ip[0] = 0x45;
    ip[2] = (uint8_t)((20 + 20 + len) >> 8);
    ip[3] = (uint8_t)(20 + 20 + len);
    ip[6] = 0x40;
    ip[8] = 64;
    ip[9] = 6;
    memcpy(ip + 12, from_server ? sip : cip, 4);
    memcpy(ip + 16, from_server ? cip : sip, 4);
    uint16_t sport = from_server ? SERVER_PORT : cport, dport = from_server ? cport : SERVER_PORT;
    tcp[0] = (uint8_t)(sport >> 8);
    tcp[1] = (uint8_t)sport;
    tcp[2] = (uint8_t)(dport >> 8);
    tcp[3] = (uint8_t)dport;
    for (int i = 0; i < 4; i++) {
        tcp[4 + i] = (uint8_t)(seq >> (24 - 8 * i));
        tcp[8 + i] = (uint8_t)(ack >> (24 - 8 * i));
    }
    tcp[12] = 5 << 4;
    tcp[13] = flags;
    tcp[14] = 0xfa;
    if (len)
        memcpy(tcp + 20, payload, len);
    frame_no++;
    struct cs_frame fr = {.number = frame_no, .ts = (cs_time_ns)frame_no * 1000000, .linktype = 1, .data = f.b, .caplen = f.n, .wirelen = f.n};
    cs_pipeline_frame(p, &fr);
}

#define CISN 1000u
#define SISN 5000u

/* Handshake of client i. */
static void open_conn(struct cs_pipeline *p, unsigned i)
{
    frame(p, i, false, 0x02, CISN, 0, NULL, 0);
    frame(p, i, true, 0x12, SISN, CISN + 1, NULL, 0);
    frame(p, i, false, 0x10, CISN + 1, SISN + 1, NULL, 0);
}

/* The k-th (0-based) 64-byte piece of binary nDPI cannot name, from the
 * server of client i (the client never speaks: the flow stays undecided). */
static void server_junk(struct cs_pipeline *p, unsigned i, unsigned k)
{
    uint8_t junk[64];
    for (unsigned j = 0; j < sizeof junk; j++)
        junk[j] = (uint8_t)(j * 37 + 11 + k);
    frame(p, i, true, 0x18, SISN + 1 + k * 64, CISN + 1, junk, sizeof junk);
}

static struct cs_pipeline *pipeline(uint32_t max_dpi_flows, size_t max_memory)
{
    struct cs_limits lim;
    cs_limits_default(&lim);
    lim.max_dpi_flows = max_dpi_flows;
    if (max_memory)
        lim.max_memory = max_memory;
    char err[128];
    struct cs_pipeline *p = cs_pipeline_new(&lim, NULL, NULL, err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    return p;
}

static uint64_t proto_flows(const struct cs_pipeline *p, const char *name)
{
    const struct cs_pipeline_stats *st = cs_pipeline_stats(p);
    for (unsigned i = 0; i < st->n_protos; i++)
        if (strcmp(st->protos[i].name, name) == 0)
            return st->protos[i].flows;
    return 0;
}

/* --workers: each pipeline thread builds its nDPI module on its first
 * flow, several at once.  nDPI 4.2's first module initialises libgcrypt,
 * whose initialisation on two threads at once aborted the process ("Ohhhh
 * jeeee: Assertion `!done' failed ... _gcry_initialize_fips_mode"): 37 of
 * 200 processes like the ones below before dpi.c built modules one at a
 * time, --workers 3 on pcaps/conn-failures.pcap about one run in 400.
 * libgcrypt is initialised once per process, so each try is a fresh child
 * process whose threads start building together; the test must run before
 * anything in this process builds a module (the children would inherit an
 * initialised libgcrypt). */
#define RACE_THREADS 4
#define RACE_CHILDREN 30
static pthread_barrier_t race_start;

static void *race_build(void *arg)
{
    (void)arg;
    char err[64];
    struct cs_dpi *d = cs_dpi_new(4, err, sizeof err);
    pthread_barrier_wait(&race_start);
    struct cs_dpi_flow *f = d ? cs_dpi_flow_new(d) : NULL;
    bool ok = f != NULL;
    cs_dpi_flow_free(d, f);
    cs_dpi_free(d);
    return ok ? arg : NULL;
}

static void test_modules_built_at_once(void)
{
    unsigned failed = 0;
    for (unsigned k = 0; k < RACE_CHILDREN; k++) {
        fflush(NULL);
        pid_t pid = fork();
        CU_ASSERT_FATAL(pid >= 0);
        if (pid == 0) {
            pthread_t t[RACE_THREADS];
            void *res;
            int bad = 0;
            pthread_barrier_init(&race_start, NULL, RACE_THREADS);
            for (unsigned i = 0; i < RACE_THREADS; i++)
                if (pthread_create(&t[i], NULL, race_build, &race_start) != 0)
                    _exit(2);
            for (unsigned i = 0; i < RACE_THREADS; i++)
                bad += pthread_join(t[i], &res) != 0 || !res;
            _exit(bad ? 1 : 0);
        }
        int st = 0;
        if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            failed++;
            if (WIFSIGNALED(st))
                fprintf(stderr, "child %u: killed by signal %d\n", k, WTERMSIG(st));
        }
    }
    CU_ASSERT_EQUAL(failed, 0);
}

/* The wrapper alone: a flow's cost is at least nDPI's flow struct, and
 * all of it is given back. */
static void test_flow_cost_measured(void)
{
    char err[64];
    struct cs_dpi *d = cs_dpi_new(4, err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    struct cs_dpi_flow *f = cs_dpi_flow_new(d);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT(cs_dpi_stats(d)->memory >= ndpi_detection_get_sizeof_ndpi_flow_struct());
    CU_ASSERT_EQUAL(cs_dpi_stats(d)->inspecting, 1);
    cs_dpi_flow_free(d, f);
    CU_ASSERT_EQUAL(cs_dpi_stats(d)->memory, 0);
    CU_ASSERT_EQUAL(cs_dpi_stats(d)->inspecting, 0);
    cs_dpi_free(d);
}

/* A server that speaks first and never says what it is: nDPI gives up
 * after CS_DPI_MAX_PACKETS packets, and its state goes then, while the
 * connection (still undecided: the client never spoke) lives on. */
static void test_state_freed_on_giveup(void)
{
    struct cs_pipeline *p = pipeline(16, 0);
    const struct cs_dpi_stats *ds = cs_pipeline_dpi_stats(p);
    open_conn(p, 1);
    CU_ASSERT_EQUAL(ds->inspecting, 0); /* no payload yet: no state */
    for (unsigned k = 0; k + 1 < CS_DPI_MAX_PACKETS; k++)
        server_junk(p, 1, k);
    CU_ASSERT_EQUAL(ds->inspecting, 1);
    /* the first packet alone makes nDPI allocate inside its flow struct */
    CU_ASSERT(ds->memory > ndpi_detection_get_sizeof_ndpi_flow_struct());
    server_junk(p, 1, CS_DPI_MAX_PACKETS - 1);
    CU_ASSERT_EQUAL(ds->inspecting, 0);
    CU_ASSERT_EQUAL(ds->memory, 0);
    CU_ASSERT_EQUAL(cs_pipeline_flow_stats(p)->active, 1);
    cs_pipeline_finish(p);
    CU_ASSERT_EQUAL(cs_pipeline_stats(p)->other_flows, 1);
    CU_ASSERT_EQUAL(ds->limit_hits, 0);
    cs_pipeline_free(p);
}

/* A server banner nDPI names at once: freed with the first packet. */
static void test_state_freed_on_decision(void)
{
    struct cs_pipeline *p = pipeline(16, 0);
    const struct cs_dpi_stats *ds = cs_pipeline_dpi_stats(p);
    static const char banner[] = "SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n";
    open_conn(p, 2);
    frame(p, 2, true, 0x18, SISN + 1, CISN + 1, banner, sizeof banner - 1);
    CU_ASSERT_EQUAL(ds->inspecting, 0);
    CU_ASSERT_EQUAL(ds->memory, 0);
    CU_ASSERT(ds->max_memory > 0);
    CU_ASSERT_EQUAL(cs_pipeline_flow_stats(p)->active, 1);
    cs_pipeline_finish(p);
    CU_ASSERT_EQUAL(proto_flows(p, "SSH"), 1);
    cs_pipeline_free(p);
}

/* --max-dpi-flows 3, five such servers: two are not inspected, counted
 * once each however many packets they send, and reported "Unknown"; a
 * slot freed by a connection's end is taken by the next new one. */
static void test_inspection_limit(void)
{
    struct cs_pipeline *p = pipeline(3, 0);
    const struct cs_dpi_stats *ds = cs_pipeline_dpi_stats(p);
    for (unsigned i = 10; i < 15; i++) {
        open_conn(p, i);
        server_junk(p, i, 0);
        server_junk(p, i, 1);
    }
    CU_ASSERT_EQUAL(ds->inspecting, 3);
    CU_ASSERT_EQUAL(ds->max_inspecting, 3);
    CU_ASSERT_EQUAL(ds->limit_hits, 2);
    /* the first ends (RST from the server): its slot goes to a new one */
    frame(p, 10, true, 0x04, SISN + 1 + 128, 0, NULL, 0);
    CU_ASSERT_EQUAL(ds->inspecting, 2);
    open_conn(p, 15);
    server_junk(p, 15, 0);
    CU_ASSERT_EQUAL(ds->inspecting, 3);
    CU_ASSERT_EQUAL(ds->limit_hits, 2);
    cs_pipeline_finish(p);
    CU_ASSERT_EQUAL(ds->inspecting, 0);
    CU_ASSERT_EQUAL(ds->memory, 0);
    CU_ASSERT_EQUAL(cs_pipeline_stats(p)->other_flows, 6);
    CU_ASSERT_EQUAL(proto_flows(p, "Unknown"), 6);
    cs_pipeline_free(p);
}

/* nDPI's state counts in --max-memory: 3000 such servers at a 1 MiB budget
 * (each connection 1 KiB plus ~3 KiB of nDPI state), with nDPI's module
 * (CS_DPI_MODULE_COST, here capped at a quarter of the budget) counted from
 * the first flow on: the oldest are dropped for memory, and the state, the
 * connections and the module never hold more than the budget. */
static void test_state_in_budget(void)
{
    const size_t budget = 1u << 20, module = budget / 4;
    struct cs_pipeline *p = pipeline(100000, budget);
    const struct cs_dpi_stats *ds = cs_pipeline_dpi_stats(p);
    for (unsigned i = 100; i < 3100; i++) {
        open_conn(p, i);
        server_junk(p, i, 0);
        CU_ASSERT_FATAL(ds->memory + cs_pipeline_flow_stats(p)->active * CS_FLOW_MEMORY_COST + module <=
                        budget);
    }
    CU_ASSERT(ds->max_memory > (budget - module) / 2);
    CU_ASSERT(ds->max_inspecting < 3000 * 1 / 4);
    CU_ASSERT(cs_pipeline_flow_stats(p)->evicted_memory > 2000);
    CU_ASSERT_EQUAL(ds->limit_hits, 0);
    cs_pipeline_free(p);
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("dpi", NULL, NULL);
    /* first: before this process builds a module */
    CU_add_test(s, "modules built on several threads at once (--workers)", test_modules_built_at_once);
    CU_add_test(s, "a flow's nDPI state is measured and given back", test_flow_cost_measured);
    CU_add_test(s, "state freed when nDPI gives up, connection still open", test_state_freed_on_giveup);
    CU_add_test(s, "state freed when nDPI decides", test_state_freed_on_decision);
    CU_add_test(s, "--max-dpi-flows: refusals counted, reported Unknown", test_inspection_limit);
    CU_add_test(s, "nDPI state counts in --max-memory", test_state_in_budget);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
