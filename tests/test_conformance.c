/* test_conformance.c - etcd_json_parse against RFC 8259, one case a file.

   Every file in tests/json_conformance/ (read from the repo root, where
   make test runs) is a JSON text named by what must happen to it:
     y_*.json  valid RFC 8259 JSON (or within etcd.h's documented limits):
               must be accepted
     n_*.json  not JSON (or beyond the documented nesting limit of
               ETCD_JSON_MAX_DEPTH, which RFC 8259 section 9 allows):
               must be rejected with ETCD_JSON_EINVAL
     i_*.json  left open by RFC 8259 (a BOM, lone surrogate escapes): either
               outcome is conforming; the suite prints which one etcd.h
               picks and only checks that both modes agree
   Each file is one test ("ok   y_....json" / "FAIL n_....json"), its one
   CHECK covering both modes: counting (toks NULL) and filling, which must
   give the same count or the same error. Any other file name fails.

   Run: make test (all suites), or
        cc -std=c99 -I. -o build/test_conformance tests/test_conformance.c && build/test_conformance */
#define ETCD_IMPLEMENTATION
#include "etcd.h"
#include "test.h"

#include <dirent.h>
#include <stdlib.h>

#define CASES_DIR "tests/json_conformance"

/* The file's bytes (malloc'd, exactly *len of them: no NUL, so a read past
   the end shows under ASan), or NULL. */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *p = NULL;
    long n;
    if (!f) return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (p = (char *)malloc(n ? (size_t)n : 1)) != NULL && fread(p, 1, (size_t)n, f) != (size_t)n) {
        free(p);
        p = NULL;
    }
    if (p) *len = (size_t)n;
    fclose(f);
    return p;
}

/* Both modes on text: the count (> 0) or the error they agree on;
   *agree says whether they did. */
static long parse_both(const char *text, size_t len, int *agree)
{
    long counted = etcd_json_parse(text, len, NULL, 0), filled;
    size_t room = counted > 0 ? (size_t)counted : len + 1;
    etcd_json_tok *toks = (etcd_json_tok *)malloc(room * sizeof *toks);
    if (!toks) { *agree = 0; return counted; }
    filled = etcd_json_parse(text, len, toks, room);
    free(toks);
    *agree = filled == counted;
    return counted;
}

/* One file, one test: its outcome against its name's promise. */
static void run_case(const char *name)
{
    char path[512];
    size_t len = 0;
    char *text;
    long r;
    int agree = 0, ok;
    t__cur_failed = 0;
    snprintf(path, sizeof path, "%s/%s", CASES_DIR, name);
    if (!(text = slurp(path, &len))) {
        fprintf(stderr, "  %s: cannot read it\n", path);
        CHECK(text != NULL);
    } else {
        r = parse_both(text, len, &agree);
        if (name[0] == 'y') ok = agree && r > 0;
        else if (name[0] == 'n') ok = agree && r == ETCD_JSON_EINVAL;
        else if (name[0] == 'i') ok = agree && (r > 0 || r == ETCD_JSON_EINVAL);
        else ok = 0;
        if (!ok)
            fprintf(stderr, "  %s: etcd_json_parse gave %ld (%s), expected %s%s\n", name, r,
                    r > 0 ? "accepted" : "rejected",
                    name[0] == 'y' ? "accepted" : name[0] == 'n' ? "rejected" : name[0] == 'i' ? "either" :
                    "a y_/n_/i_ name",
                    agree ? "" : "; counting and filling modes disagree");
        else if (name[0] == 'i')
            printf("     %s: implementation-defined, etcd.h %s it\n", name, r > 0 ? "accepts" : "rejects");
        CHECK(ok);
        free(text);
    }
    if (t__cur_failed) { t__failed++; printf("FAIL %s\n", name); }
    else { t__passed++; printf("ok   %s\n", name); }
    fflush(stdout);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The case files, sorted (readdir's order is the file system's). */
static size_t list_cases(char ***out)
{
    DIR *d = opendir(CASES_DIR);
    struct dirent *e;
    char **names = NULL;
    size_t n = 0, cap = 0;
    if (!d) return 0;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        if (n == cap) {
            char **more = (char **)realloc(names, (cap = cap ? cap * 2 : 256) * sizeof *names);
            if (!more) break;
            names = more;
        }
        if (!(names[n] = (char *)malloc(strlen(e->d_name) + 1))) break;
        strcpy(names[n++], e->d_name);
    }
    closedir(d);
    if (n) qsort(names, n, sizeof *names, by_name);
    *out = names;
    return n;
}

/* The directory itself: there, and holding every kind of case. */
static void test_cases_present(void)
{
    char **names = NULL;
    size_t n = list_cases(&names), i, y = 0, no = 0;
    for (i = 0; i < n; i++) {
        y += names[i][0] == 'y';
        no += names[i][0] == 'n';
        free(names[i]);
    }
    free(names);
    CHECK(n > 0);
    CHECK(y > 50 && no > 100);
}

int main(void)
{
    char **names = NULL;
    size_t n, i;
    RUN(test_cases_present);
    n = list_cases(&names);
    for (i = 0; i < n; i++) {
        run_case(names[i]);
        free(names[i]);
    }
    free(names);
    return test_summary();
}
