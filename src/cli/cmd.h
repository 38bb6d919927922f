/* cmd.h - shared glue for the client commands of `cairn` (experiments,
 * runs, log, artifacts, sync, import): a small option parser that knows the
 * common flags (--json, --tracking-uri, --help), noun/verb dispatch with
 * help at every level, the client handle, tables and JSON output, and one
 * place that turns a libcairn error into a message and an exit status
 * (0 success, 1 failure at run time, 2 bad usage; see docs/cairn.1). */
#ifndef CAIRN_CLI_CMD_H
#define CAIRN_CLI_CMD_H

#include <stdio.h>

#include <jansson.h>

#include "cairn.h"
#include "cli.h"

/* One flag of a verb. value != NULL: takes a value; else flag != NULL. A
 * repeatable valued flag appends to *list (a JSON array) when list != NULL. */
typedef struct {
    const char *name;      /* long name without dashes */
    char short_name;       /* 0: none */
    const char *meta;      /* value placeholder for help, NULL for a boolean */
    const char *help;
    const char **value;
    int *flag;
    json_t **list;
} cmd_opt;

/* What every verb accepts. */
typedef struct {
    int json;
    const char *tracking_uri;
} cmd_common;

typedef struct {
    const char *name;
    const char *args;      /* positional synopsis, e.g. "ID NEW_NAME" */
    const char *summary;
    int (*run)(const char *noun, int argc, char **argv);
} cmd_verb;

/* A parsed command line: options filled in, positionals collected. */
typedef struct {
    cmd_common common;
    char *pos[8];
    int npos;
} cmd_args;

/* Parses argv (argv[0] is the verb) against opts (terminated by {0}).
 * Returns -1 to continue; otherwise the exit status to return at once
 * (0 after --help, 2 on a usage error, already reported). min/max bound
 * the number of positionals. */
int cmd_parse(const char *noun, const cmd_verb *verb, const cmd_opt *opts, int min_pos, int max_pos,
              int argc, char **argv, cmd_args *out);
void cmd_verb_help(FILE *out, const char *noun, const cmd_verb *verb, const cmd_opt *opts);
/* Dispatches `cairn <noun> <verb> ...` (argv[0] is the noun). */
int cmd_dispatch(const char *noun, const char *summary, const cmd_verb *verbs, size_t n, int argc,
                 char **argv);
void cmd_noun_help(FILE *out, const char *noun, const char *summary, const cmd_verb *verbs, size_t n);

/* Opens a client; spool 1 lets it fall back to the offline spool. On failure
 * reports and returns NULL. */
cairn_client *cmd_client(const cmd_common *common, int spool);
/* Reports the thread's last libcairn error as "cairn: ..." on stderr and
 * returns the exit status for it. */
int cmd_fail(void);
/* Tells stderr that the call went to the offline spool, and why. */
void cmd_spooled(cairn_client *c, const char *run_id, const char *what);
/* Did a call for run_id go to the spool (offline client, or a local run)? */
int cmd_was_spooled(cairn_client *c, const char *run_id);
/* The exit status for the thread's last libcairn error (already reported). */
int cmd_status(void);
int cmd_usage_error(const char *noun, const char *verb, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Strict number parsing for flags and arguments; report and return 2 on error. */
int cmd_parse_double(const char *what, const char *s, double *out);
int cmd_parse_i64(const char *what, const char *s, long long *out);
/* The run id from --run-id or MLFLOW_RUN_ID; reports a usage error if none. */
int cmd_run_id(const char *noun, const char *verb, const char *flag_value, const char **out);

/* Reads a password (secret.c): from the terminal without echo after prompt
 * (twice when confirm), else one line of stdin. Never from argv. Returns 0
 * or 1 (reported); the caller wipes buf. */
int cmd_password_read(const char *prompt, int confirm, char *buf, size_t cap);

/* Prints a JSON value (pretty) on stdout. */
void cmd_print_json(json_t *j);
/* Parses JSON text from libcairn (and frees it). */
json_t *cmd_json(char *text);
/* Prints rows (an array of arrays of strings) under headers as a table. */
void cmd_table(const char *const *headers, size_t ncols, json_t *rows);
/* Small helpers for table cells. */
const char *cmd_str(json_t *obj, const char *key);
char *cmd_time(long long ms, char *buf, size_t cap);   /* ISO 8601, UTC; "-" for 0 */

/* A progress bar on stderr when it is a terminal (ud: the label). */
void cmd_progress(void *ud, uint64_t done, uint64_t total);
int cmd_progress_wanted(void);
void cmd_progress_end(void);

#endif
