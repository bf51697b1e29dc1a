/* leader - run for leader of an election, lead until stopped, hand over.

   Shows etcd's election service with a lease this loop keeps alive:
   - etcd_campaign blocks until this process leads. Waiting is done in
     attempts of at most a second, so the lease keeper is ticked between
     them: a candidate that waits for an hour still has a live lease. etcd
     removes a timed-out attempt's key; the next attempt waits until it has
     (see wait_abandoned). Between attempts, etcd_leader says who leads
     ("leader is: VALUE" each time the leader changes).
   - the leader proclaims a heartbeat value ("ID beat N") every second with
     etcd_proclaim; anyone can read it with etcd_leader or etcd_observe.
   - SIGINT/SIGTERM: etcd_resign hands leadership to the next candidate at
     once. A leader that crashes loses it when its lease runs out (--ttl).
     A lost lease (ETCD_ELOST) or a refused proclaim means another process
     may lead now: it stops leading at once and exits with code 1.

   Build:  make examples
   Run:    build/leader --name=/election/cron --id=a
           build/leader --name=/election/cron --id=b --ttl=10

   Prints "leader: ID" when it wins, "leader is: VALUE" while it waits,
   "resigned" when it hands over. Exit status: 0 on SIGINT/SIGTERM, 1 when
   etcd fails or leadership is lost, 2 on a usage error. */
#define ETCD_IMPLEMENTATION
#include "etcd.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Sleep up to secs; a signal ends it early. */
static void nap(double secs)
{
    if (secs > 0) poll(NULL, 0, (int)(secs * 1000) + 1);
}

/* Keep the lease alive: tick it when due. false once it is lost. */
static bool keep(etcd *cli, etcd_lease *lease)
{
    if (etcd_lease_due(lease) > 0 || etcd_lease_tick(lease) == 0) return true;
    fprintf(stderr, "leader: %s\n", etcd_errstr(cli));
    return false;
}

/* Print the current leader's value when the leader is a new one. */
static void show_leader(etcd *cli, const char *name, char *seen, size_t size)
{
    etcd_res *r = etcd_leader(cli, name);
    if (r && r->nkvs && strcmp(r->kvs[0].key, seen) != 0) {
        snprintf(seen, size, "%s", r->kvs[0].key);   /* its campaign key: one per leader */
        printf("leader is: %s\n", r->kvs[0].value);
    }
    etcd_res_free(r);
}

/* A timed-out attempt is abandoned, and etcd then deletes its waiting key
   (<name>/<lease in hex>: one key per lease) a moment later. An attempt
   made before that would find the key and reuse it, and that late delete
   would then take it away: the attempt could "win" with no key, while
   another candidate wins too. So wait (at most a second) until it is gone. */
static void wait_abandoned(etcd *cli, const char *name, int64_t lease)
{
    char key[600];
    etcd_get_opts o;
    memset(&o, 0, sizeof o);
    o.count_only = true;
    snprintf(key, sizeof key, "%s/%llx", name, (unsigned long long)lease);
    for (double end = now() + 1; now() < end && !stop_requested; nap(0.02)) {
        etcd_res *r = etcd_get(cli, key, &o);
        bool gone = r && r->status == 200 && r->count == 0;
        etcd_res_free(r);
        if (gone) return;
    }
}

/* Campaign until elected: the campaign's result (r->leader), or NULL when
   stopped or failed. */
static etcd_res *campaign(etcd *cli, etcd_lease *lease, const char *name, const char *id)
{
    char seen[600] = "";                        /* the leader key last shown */
    while (!stop_requested && keep(cli, lease)) {
        double wait = etcd_lease_due(lease);    /* back in time for the next tick */
        wait = wait < 0.1 ? 0.1 : wait > 1 ? 1 : wait;
        etcd_res *r = etcd_campaign(cli, name, etcd_lease_id(lease), id, 0, wait);
        if (r && r->status == 200 && r->leader) return r;
        if (r) {                                /* etcd refused: e.g. the lease is gone */
            fprintf(stderr, "leader: campaign: HTTP %d: %s\n", r->status,
                    r->message ? r->message : r->body);
            etcd_res_free(r);
            return NULL;
        }
        if (etcd_errcode(cli) == ETCD_ETIMEOUT) {
            wait_abandoned(cli, name, etcd_lease_id(lease));
            show_leader(cli, name, seen, sizeof seen);   /* someone else leads */
        } else {                                /* etcd unreachable: the lease decides */
            fprintf(stderr, "leader: campaign: %s\n", etcd_errstr(cli));
            nap(0.5);
        }
    }
    return NULL;
}

/* Lead: a heartbeat every second, until a signal or the loss of the lease. */
static int lead(etcd *cli, etcd_lease *lease, const etcd_leader_key *me, const char *id)
{
    double next = now();
    for (long beat = 1; !stop_requested; ) {
        if (!keep(cli, lease)) return 1;
        if (now() >= next) {
            char value[300];
            snprintf(value, sizeof value, "%s beat %ld", id, beat);
            etcd_res *r = etcd_proclaim(cli, me, value, 0);
            if (r && r->status != 200) {        /* "election: not leader": it is over */
                fprintf(stderr, "leader: no longer leader: %s\n", r->message ? r->message : r->body);
                etcd_res_free(r);
                return 1;
            }
            if (!r) fprintf(stderr, "leader: proclaim: %s\n", etcd_errstr(cli));
            else beat++;
            etcd_res_free(r);
            next += 1;
        }
        double due = etcd_lease_due(lease), until = next - now();
        nap(due < until ? due : until);
    }
    etcd_res *r = etcd_resign(cli, me);         /* the next candidate leads now */
    if (r && r->status == 200) printf("resigned\n");
    else fprintf(stderr, "leader: resign: %s\n", r ? (r->message ? r->message : r->body) : etcd_errstr(cli));
    etcd_res_free(r);
    return 0;
}

static int usage(const char *why)
{
    fprintf(stderr, "leader: %s\n"
            "usage: leader --name=ELECTION --id=ID [--endpoints=URL[,URL...]] [--ttl=SECONDS]\n", why);
    return 2;
}

int main(int argc, char **argv)
{
    const char *endpoints = NULL, *name = NULL, *id = NULL;
    long long ttl = 5;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        char *end;
        if (!strncmp(a, "--endpoints=", 12)) endpoints = a + 12;
        else if (!strncmp(a, "--name=", 7)) name = a + 7;
        else if (!strncmp(a, "--id=", 5)) id = a + 5;
        else if (!strncmp(a, "--ttl=", 6)) {
            errno = 0;
            ttl = strtoll(a + 6, &end, 10);
            if (!a[6] || *end || errno || ttl < 1) return usage(a);
        } else {
            return usage(a);
        }
    }
    if (!name || !*name || strlen(name) > 500 || !id || !*id || strlen(id) > 200)
        return usage("--name and --id are required");

    setvbuf(stdout, NULL, _IOLBF, 0);           /* a line at a time, even into a pipe */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;                  /* no SA_RESTART: a wait ends early */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    etcd_opts o;
    memset(&o, 0, sizeof o);
    o.http_host = endpoints;
    o.serializer = ETCD_SERIALIZER_RAW;         /* values are plain text */
    char err[256];
    etcd *cli = etcd_new(&o, err, sizeof err);
    if (!cli) {
        fprintf(stderr, "leader: %s\n", err);
        return 1;
    }
    int rc = 1;
    etcd_lease *lease = etcd_lease_keep(cli, ttl, 0);
    if (!lease) {
        fprintf(stderr, "leader: lease: %s\n", etcd_errstr(cli));
    } else {
        etcd_res *won = campaign(cli, lease, name, id);
        if (won) {
            printf("leader: %s\n", id);
            rc = lead(cli, lease, won->leader, id);
        } else {
            rc = stop_requested ? 0 : 1;
        }
        etcd_res_free(won);
        etcd_lease_stop(lease, true);           /* whatever is left of ours goes now */
    }
    etcd_free(cli);
    return rc;
}
