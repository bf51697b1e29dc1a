/* etcd.h for a bare-metal target: ETCD_NO_SOCKETS, every byte through a
   transport of the firmware's own (here stubs over an imagined modem
   driver), every public function kept so none is left out of the
   compile or dropped by the linker (mk/hook.mk: make baremetal builds
   it with arm-none-eabi-gcc for a Cortex-M4, against newlib and against
   picolibc, and checks that this table names every ETCDDEF function of
   etcd.h). It is never run. */
#define ETCD_IMPLEMENTATION
#define ETCD_NO_SOCKETS
#include "../../etcd.h"
#include <string.h>

/* A millisecond tick, as a SysTick interrupt would count it. */
static volatile unsigned long bm_ticks;

static int bm_connect(void *ctx, const char *host, int port, double deadline)
{
    (void)ctx; (void)host; (void)port; (void)deadline;
    return -1;                   /* the modem is not there */
}

static long bm_read(void *ctx, int conn, void *buf, size_t n)
{
    (void)ctx; (void)conn; (void)buf; (void)n;
    return ETCD_IO_AGAIN;
}

static long bm_write(void *ctx, int conn, const void *buf, size_t n)
{
    (void)ctx; (void)conn; (void)buf;
    return (long)n;
}

static int bm_wait(void *ctx, int conn, int events, double deadline)
{
    (void)ctx; (void)conn; (void)events; (void)deadline;
    return 0;
}

static void bm_close(void *ctx, int conn) { (void)ctx; (void)conn; }

static double bm_now(void *ctx) { (void)ctx; return (double)bm_ticks / 1000.0; }

typedef void (*bm_fn)(void);
#define F(f) (bm_fn)f

/* Every public function of etcd.h (make baremetal checks the list). */
static const bm_fn bm_every[] = {
    F(etcd_alarm_disarm), F(etcd_alarm_list), F(etcd_auth_disable),
    F(etcd_auth_enable), F(etcd_auth_status), F(etcd_campaign),
    F(etcd_compact), F(etcd_defragment), F(etcd_delete),
    F(etcd_downgrade), F(etcd_endpoint_healthy), F(etcd_err_name),
    F(etcd_errcode), F(etcd_errstr), F(etcd_free),
    F(etcd_get), F(etcd_grant), F(etcd_hash),
    F(etcd_hash_kv), F(etcd_json_parse), F(etcd_keepalive),
    F(etcd_leader), F(etcd_leader_guard), F(etcd_lease_due),
    F(etcd_lease_id), F(etcd_lease_keep), F(etcd_lease_stop),
    F(etcd_lease_tick), F(etcd_leases), F(etcd_lock),
    F(etcd_lock_guard), F(etcd_member_add), F(etcd_member_list),
    F(etcd_member_promote), F(etcd_member_remove), F(etcd_member_update),
    F(etcd_mirror), F(etcd_move_leader), F(etcd_new),
    F(etcd_observe), F(etcd_pager_free), F(etcd_pager_next),
    F(etcd_proclaim), F(etcd_readdir), F(etcd_readdir_pages),
    F(etcd_request), F(etcd_request_stream), F(etcd_res_free),
    F(etcd_resign), F(etcd_revoke), F(etcd_rmdir),
    F(etcd_role_add), F(etcd_role_delete), F(etcd_role_get),
    F(etcd_role_grant), F(etcd_role_list), F(etcd_role_revoke),
    F(etcd_session_due), F(etcd_session_free), F(etcd_session_lease),
    F(etcd_session_new), F(etcd_session_put), F(etcd_session_tick),
    F(etcd_set), F(etcd_setnx), F(etcd_setx),
    F(etcd_snapshot), F(etcd_snapshot_save), F(etcd_status),
    F(etcd_timetolive), F(etcd_trylock), F(etcd_txn),
    F(etcd_unlock), F(etcd_user_add), F(etcd_user_delete),
    F(etcd_user_get), F(etcd_user_grant_role), F(etcd_user_list),
    F(etcd_user_passwd), F(etcd_user_revoke_role), F(etcd_version),
    F(etcd_watch), F(etcd_watch_errcode), F(etcd_watch_errstr),
    F(etcd_watch_fd), F(etcd_watch_next), F(etcd_watch_pending),
    F(etcd_watch_state), F(etcd_watchcancel), F(etcd_watchdir),
};

volatile unsigned bm_pick;       /* unknown to the compiler: the whole table stays */
volatile bm_fn bm_sink;

int main(void)
{
    static const etcd_transport t = { NULL, bm_connect, bm_read, bm_write, bm_wait, bm_close, bm_now };
    etcd_opts o;
    char err[128];
    etcd *cli;
    etcd_res *r;
    memset(&o, 0, sizeof o);
    o.http_host = "http://127.0.0.1:2379";
    o.transport = &t;
    if (!(cli = etcd_new(&o, err, sizeof err))) return 1;
    r = etcd_get(cli, "/config", NULL);
    etcd_res_free(r);
    etcd_free(cli);
    bm_sink = bm_every[bm_pick % (sizeof bm_every / sizeof bm_every[0])];
    return 0;
}
