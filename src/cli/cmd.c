/* cmd.c - option parsing, dispatch, errors and output for the client
 * commands of `cairn` (see cmd.h). */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"

static const cmd_opt *cmd_find(const cmd_opt *opts, const char *name, size_t n, char short_name)
{
    for (const cmd_opt *o = opts; o && o->name; o++) {
        if (short_name ? o->short_name == short_name
                       : strlen(o->name) == n && strncmp(o->name, name, n) == 0)
            return o;
    }
    return NULL;
}

void cmd_verb_help(FILE *out, const char *noun, const cmd_verb *verb, const cmd_opt *opts)
{
    /* A command without verbs (sync, run) passes its name as both. */
    int single = strcmp(noun, verb->name) == 0;
    fprintf(out, "usage: cairn %s%s%s [options]%s%s\n\n%s\n\nOptions:\n", noun, single ? "" : " ",
            single ? "" : verb->name,
            verb->args && *verb->args ? " " : "", verb->args ? verb->args : "", verb->summary);
    for (const cmd_opt *o = opts; o && o->name; o++) {
        char left[64];
        snprintf(left, sizeof left, "%s%c%s--%s%s%s", o->short_name ? "-" : "   ",
                 o->short_name ? o->short_name : ' ', o->short_name ? ", " : "", o->name,
                 o->meta ? " " : "", o->meta ? o->meta : "");
        fprintf(out, "  %-30s %s\n", left, o->help);
    }
    fprintf(out, "  %-30s %s\n", "    --json", "Print the server's JSON instead of a table.");
    fprintf(out, "  %-30s %s\n", "    --tracking-uri URI", "Server to use (default $MLFLOW_TRACKING_URI).");
    fprintf(out, "  %-30s %s\n", "-h, --help", "Show this help.");
}

int cmd_usage_error(const char *noun, const char *verb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "cairn: ");
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    if (verb != NULL && strcmp(noun, verb) != 0)
        fprintf(stderr, "\nRun 'cairn %s %s --help' for usage.\n", noun, verb);
    else
        fprintf(stderr, "\nRun 'cairn %s --help' for usage.\n", noun);
    return CLI_EXIT_USAGE;
}

/* "-1.5", "-inf", "-nan": a negative number, not an option. */
static int cmd_is_number(const char *a)
{
    char *end = NULL;
    strtod(a, &end);
    return end != a && *end == '\0';
}

static int cmd_set(const cmd_opt *o, const char *v)
{
    if (o->list != NULL) {
        if (*o->list == NULL)
            *o->list = json_array();
        json_array_append_new(*o->list, json_string(v));
    } else {
        *o->value = v;
    }
    return 0;
}

int cmd_parse(const char *noun, const cmd_verb *verb, const cmd_opt *opts, int min_pos, int max_pos,
              int argc, char **argv, cmd_args *out)
{
    memset(out, 0, sizeof *out);
    int only_pos = 0;
    for (int i = 1; i < argc; i++) {
        char *a = argv[i];
        if (only_pos || a[0] != '-' || a[1] == '\0' || cmd_is_number(a)) {
            if (out->npos >= max_pos || out->npos >= 8)
                return cmd_usage_error(noun, verb->name, "unexpected argument '%s'", a);
            out->pos[out->npos++] = a;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            only_pos = 1;
            continue;
        }
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            cmd_verb_help(stdout, noun, verb, opts);
            return CLI_EXIT_OK;
        }
        if (strcmp(a, "--json") == 0) {
            out->common.json = 1;
            continue;
        }
        const cmd_opt *o;
        const char *inline_val = NULL;
        if (a[1] == '-') {
            const char *name = a + 2, *eq = strchr(name, '=');
            size_t n = eq ? (size_t)(eq - name) : strlen(name);
            if (n == 12 && strncmp(name, "tracking-uri", 12) == 0) {
                static const cmd_opt uri = {"tracking-uri", 0, "URI", "", NULL, NULL, NULL};
                o = &uri;
            } else {
                o = cmd_find(opts, name, n, 0);
            }
            if (eq)
                inline_val = eq + 1;
        } else {
            o = a[2] == '\0' ? cmd_find(opts, NULL, 0, a[1]) : NULL;
        }
        if (o == NULL)
            return cmd_usage_error(noun, verb->name, "unknown option '%s'", a);
        if (o->meta == NULL) {
            if (inline_val)
                return cmd_usage_error(noun, verb->name, "option '--%s' takes no value", o->name);
            *o->flag = 1;
            continue;
        }
        const char *v = inline_val;
        if (v == NULL) {
            if (i + 1 >= argc)
                return cmd_usage_error(noun, verb->name, "option '%s' needs a value (%s)", a, o->meta);
            v = argv[++i];
        }
        if (strcmp(o->name, "tracking-uri") == 0 && o->value == NULL)
            out->common.tracking_uri = v;
        else
            cmd_set(o, v);
    }
    if (out->npos < min_pos)
        return cmd_usage_error(noun, verb->name, "missing argument: %s", verb->args);
    return -1;
}

void cmd_noun_help(FILE *out, const char *noun, const char *summary, const cmd_verb *verbs, size_t n)
{
    fprintf(out, "usage: cairn %s <command> [options]\n\n%s\n\nCommands:\n", noun, summary);
    for (size_t i = 0; i < n; i++) {
        char left[64];
        snprintf(left, sizeof left, "%s %s", verbs[i].name, verbs[i].args ? verbs[i].args : "");
        fprintf(out, "  %-28s %s\n", left, verbs[i].summary);
    }
    fprintf(out, "\nRun 'cairn %s <command> --help' for a command's options.\n", noun);
}

int cmd_dispatch(const char *noun, const char *summary, const cmd_verb *verbs, size_t n, int argc,
                 char **argv)
{
    if (argc < 2) {
        cmd_noun_help(stderr, noun, summary, verbs, n);
        return CLI_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        cmd_noun_help(stdout, noun, summary, verbs, n);
        return CLI_EXIT_OK;
    }
    for (size_t i = 0; i < n; i++)
        if (strcmp(verbs[i].name, argv[1]) == 0)
            return verbs[i].run(noun, argc - 1, argv + 1);
    fprintf(stderr, "cairn: unknown command '%s %s'\n\n", noun, argv[1]);
    cmd_noun_help(stderr, noun, summary, verbs, n);
    return CLI_EXIT_USAGE;
}

cairn_client *cmd_client(const cmd_common *common, int spool)
{
    cairn_options o = {0};
    o.tracking_uri = common->tracking_uri;
    o.no_spool = !spool;
    if (!spool)
        o.max_retries = 1;
    cairn_client *c = NULL;
    if (cairn_client_open(&c, &o) < 0) {
        cmd_fail();
        return NULL;
    }
    return c;
}

int cmd_fail(void)
{
    const cairn_error *e = cairn_error_last();
    if (e->code == CAIRN_ESERVER || e->code == CAIRN_ENOTFOUND)
        fprintf(stderr, "cairn: %s: %s\n", *e->error_code ? e->error_code : "ERROR", e->message);
    else
        fprintf(stderr, "cairn: %s\n", *e->message ? e->message : "unknown error");
    return cmd_status();
}

int cmd_status(void)
{
    return cairn_error_last()->code == CAIRN_EINVAL ? CLI_EXIT_USAGE : CLI_EXIT_FAIL;
}

int cmd_parse_double(const char *what, const char *s, double *out)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || errno == ERANGE) {
        fprintf(stderr, "cairn: %s '%s' is not a number\n", what, s);
        return CLI_EXIT_USAGE;
    }
    *out = v;
    return CLI_EXIT_OK;
}

int cmd_parse_i64(const char *what, const char *s, long long *out)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end != '\0' || errno == ERANGE) {
        fprintf(stderr, "cairn: %s '%s' is not an integer\n", what, s);
        return CLI_EXIT_USAGE;
    }
    *out = v;
    return CLI_EXIT_OK;
}

int cmd_run_id(const char *noun, const char *verb, const char *flag_value, const char **out)
{
    *out = flag_value && *flag_value ? flag_value : cairn_env_run_id();
    if (*out == NULL)
        return cmd_usage_error(noun, verb, "missing run id: pass --run-id or set MLFLOW_RUN_ID");
    return CLI_EXIT_OK;
}

void cmd_print_json(json_t *j)
{
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (s != NULL) {
        puts(s);
        free(s);
    }
}

json_t *cmd_json(char *text)
{
    json_t *j = text ? json_loads(text, 0, NULL) : NULL;
    cairn_free(text);
    return j ? j : json_object();
}

const char *cmd_str(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_string(v) ? json_string_value(v) : "";
}

char *cmd_time(long long ms, char *buf, size_t cap)
{
    if (ms <= 0) {
        snprintf(buf, cap, "-");
        return buf;
    }
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, cap, "%Y-%m-%d %H:%M:%S", &tm);
    return buf;
}

static const char *cmd_cell(json_t *row, size_t c)
{
    const char *v = json_string_value(json_array_get(row, c));
    return v ? v : "";
}

static void cmd_cell_print(const char *v, int width, int last)
{
    if (last)
        printf("%s\n", v);
    else
        printf("%-*s  ", width, v);
}

void cmd_table(const char *const *headers, size_t ncols, json_t *rows)
{
    size_t width[16] = {0};
    for (size_t c = 0; c < ncols && c < 16; c++)
        width[c] = strlen(headers[c]);
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row) {
        for (size_t c = 0; c < ncols && c < 16; c++) {
            size_t n = strlen(cmd_cell(row, c));
            if (n > width[c])
                width[c] = n;
        }
    }
    for (size_t c = 0; c < ncols; c++)
        cmd_cell_print(headers[c], (int)width[c], c + 1 == ncols);
    json_array_foreach(rows, i, row) {
        for (size_t c = 0; c < ncols; c++) {
            cmd_cell_print(cmd_cell(row, c), (int)width[c], c + 1 == ncols);
        }
    }
}

int cmd_progress_wanted(void)
{
    return isatty(STDERR_FILENO);
}

void cmd_progress(void *ud, uint64_t done, uint64_t total)
{
    const char *label = ud;
    char bar[31];
    int fill = total ? (int)(30.0 * (double)done / (double)total) : 0;
    for (int i = 0; i < 30; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[30] = '\0';
    if (total)
        fprintf(stderr, "\r%s [%s] %3d%% %.1f/%.1f MB", label, bar, (int)(100.0 * (double)done / (double)total),
                (double)done / 1e6, (double)total / 1e6);
    else
        fprintf(stderr, "\r%s %.1f MB", label, (double)done / 1e6);
}

void cmd_progress_end(void)
{
    fputc('\n', stderr);
}

int cmd_was_spooled(cairn_client *c, const char *run_id)
{
    return cairn_client_is_offline(c) || (run_id != NULL && strncmp(run_id, "local-", 6) == 0);
}

void cmd_spooled(cairn_client *c, const char *run_id, const char *what)
{
    const char *off = getenv("CAIRN_OFFLINE");
    if (!cairn_client_is_offline(c))
        fprintf(stderr, "cairn: run %s exists only in the spool until 'cairn sync'; %s spooled to %s\n", run_id,
                what, cairn_client_spool_dir(c));
    else if (off != NULL && *off != '\0' && strcmp(off, "0") != 0)
        fprintf(stderr, "cairn: offline (CAIRN_OFFLINE); %s spooled to %s (replay with 'cairn sync')\n", what,
                cairn_client_spool_dir(c));
    else
        fprintf(stderr, "cairn: cannot reach %s; %s spooled to %s (replay with 'cairn sync')\n",
                cairn_client_tracking_uri(c), what, cairn_client_spool_dir(c));
}
