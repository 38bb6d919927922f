/* jobs.c - `cairn jobs list|get|cancel|logs`: the jobs of Cairn's job
 * service (docs/JOBS.md), and the helpers `cairn submit` shares (jobs.h). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd.h"
#include "jobs.h"

#define JOB_POLL_FIRST_MS 500
#define JOB_POLL_MAX_MS 5000
#define JOB_STREAM_RETRY_MS 1000

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int cli_job_ended(const char *state)
{
    static const char *const ended[] = {"COMPLETED", "FAILED",    "CANCELLED", "TIMEOUT",  "OUT_OF_MEMORY",
                                        "NODE_FAIL", "PREEMPTED", "BOOT_FAIL", "DEADLINE", "LOST"};
    for (size_t i = 0; state && i < sizeof ended / sizeof ended[0]; i++)
        if (strcmp(state, ended[i]) == 0)
            return 1;
    return 0;
}

static long long job_int(json_t *job, const char *key)
{
    return json_integer_value(json_object_get(job, key));
}

void cli_job_print(json_t *job)
{
    static const char *const keys[] = {"job_id", "run_id", "experiment_id", "run_name", "state", "run_status",
                                       "reason", "backend", "backend_job_id", "entry_point", "command",
                                       "user_id", "source"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        printf("%-15s %s\n", keys[i], cmd_str(job, keys[i]));
    json_t *code = json_object_get(job, "exit_code");
    if (json_is_integer(code) && json_integer_value(code) >= 0)
        printf("%-15s %lld\n", "exit_code", (long long)json_integer_value(code));
    else
        printf("%-15s -\n", "exit_code");
    static const char *const times[] = {"submit_time", "start_time", "end_time"};
    for (size_t i = 0; i < 3; i++) {
        char t[32];
        printf("%-15s %s\n", times[i], cmd_time(job_int(job, times[i]), t, sizeof t));
    }
}

/* The "job" member of a {"job": Job} answer (a new reference), or NULL. */
static json_t *job_of(char *text)
{
    json_t *j = cmd_json(text);
    json_t *job = json_object_get(j, "job");
    json_incref(job);
    json_decref(j);
    return json_is_object(job) ? job : NULL;
}

/* Returns an exit status (errors reported). */
static int job_fetch(cairn_client *c, const char *job_id, json_t **job)
{
    char *text = NULL;
    if (cairn_job_get(c, job_id, &text) < 0)
        return cmd_fail();
    if ((*job = job_of(text)) != NULL)
        return CLI_EXIT_OK;
    fprintf(stderr, "cairn: the server's answer to jobs/get has no job\n");
    return CLI_EXIT_FAIL;
}

int cli_job_wait(cairn_client *c, const char *job_id, json_t **job)
{
    long delay = JOB_POLL_FIRST_MS;
    for (;;) {
        int r = job_fetch(c, job_id, job);
        if (r != CLI_EXIT_OK || cli_job_ended(cmd_str(*job, "state")))
            return r;
        json_decref(*job);
        *job = NULL;
        sleep_ms(delay);
        delay = delay * 2 > JOB_POLL_MAX_MS ? JOB_POLL_MAX_MS : delay * 2;
    }
}

static int to_stdout(void *arg, const char *data, size_t len)
{
    long long *offset = arg;
    if (fwrite(data, 1, len, stdout) != len)
        return 1;
    fflush(stdout);
    *offset += (long long)len;
    return 0;
}

/* A followed stream cut by the network is taken up again from the byte
 * reached, unless this many attempts in a row bring nothing. */
#define JOB_STREAM_TRIES 5

int cli_job_output(cairn_client *c, const char *job_id, int follow, long long *offset, json_t **job)
{
    *job = NULL;
    for (int tries = 0;;) {
        long long before = *offset;
        if (cairn_job_logs(c, job_id, *offset, follow, to_stdout, offset) < 0) {
            tries = *offset > before ? 1 : tries + 1;
            if (!follow || cairn_error_last()->code != CAIRN_EUNREACHABLE || tries >= JOB_STREAM_TRIES)
                return cmd_fail();
            sleep_ms(JOB_STREAM_RETRY_MS);
            continue;
        }
        tries = 0;
        if (!follow)
            return CLI_EXIT_OK;
        int r = job_fetch(c, job_id, job);
        if (r != CLI_EXIT_OK || cli_job_ended(cmd_str(*job, "state")))
            return r;
        json_decref(*job);   /* the stream broke off before the end: take it up again */
        *job = NULL;
        sleep_ms(JOB_STREAM_RETRY_MS);
    }
}

/* ---- the verbs ---- */
static int jobs_list(const char *noun, int argc, char **argv);
static int jobs_get(const char *noun, int argc, char **argv);
static int jobs_cancel(const char *noun, int argc, char **argv);
static int jobs_logs(const char *noun, int argc, char **argv);

static const cmd_verb job_verbs[] = {
    {"list", "", "List jobs, newest first (job, state, run status, backend, experiment, run, submit time).",
     jobs_list},
    {"get", "JOB_ID", "Show a job: state, reason, exit code, run, backend job, command, times.", jobs_get},
    {"cancel", "JOB_ID", "Ask the backend to stop a job (its run becomes KILLED).", jobs_cancel},
    {"logs", "JOB_ID", "Print a job's output (stdout and stderr); -f follows it until the job ends.", jobs_logs},
};
#define NVERBS (sizeof job_verbs / sizeof job_verbs[0])

static const cmd_verb *verb(const char *name)
{
    for (size_t i = 0; i < NVERBS; i++)
        if (strcmp(job_verbs[i].name, name) == 0)
            return &job_verbs[i];
    return &job_verbs[0];
}

static void print_jobs(json_t *j)
{
    static const char *const h[] = {"JOB ID", "STATE", "RUN STATUS", "BACKEND", "EXPERIMENT", "RUN ID",
                                    "SUBMITTED (UTC)", "REASON"};
    json_t *rows = json_array(), *job;
    size_t i;
    json_array_foreach(json_object_get(j, "jobs"), i, job) {
        char t[32];
        json_array_append_new(rows, json_pack("[s,s,s,s,s,s,s,s]", cmd_str(job, "job_id"), cmd_str(job, "state"),
                                              cmd_str(job, "run_status"), cmd_str(job, "backend"),
                                              cmd_str(job, "experiment_id"), cmd_str(job, "run_id"),
                                              cmd_time(job_int(job, "submit_time"), t, sizeof t),
                                              cmd_str(job, "reason")));
    }
    cmd_table(h, 8, rows);
    json_decref(rows);
}

static int jobs_list(const char *noun, int argc, char **argv)
{
    const char *exp = NULL, *max = NULL;
    int active = 0;
    cmd_opt opts[] = {{"experiment-id", 'x', "ID", "Only the jobs of this experiment.", &exp, NULL, NULL},
                      {"active", 0, NULL, "Only jobs that have not ended (PENDING, RUNNING).", NULL, &active, NULL},
                      {"max-results", 'n', "N", "At most N jobs (default all).", &max, NULL, NULL},
                      {0}};
    cmd_args a;
    int rc = cmd_parse(noun, verb("list"), opts, 0, 0, argc, argv, &a);
    if (rc >= 0)
        return rc;
    long long n = 0;
    if (max != NULL && (cmd_parse_i64("--max-results", max, &n) != 0 || n < 0 || n > 1000000))
        return cmd_usage_error(noun, "list", "--max-results must be a number from 0 to 1000000");
    cairn_client *c = cmd_client(&a.common, 0);
    if (c == NULL)
        return cmd_status();
    char *text = NULL;
    rc = cairn_job_list(c, exp, active, (int)n, &text) < 0 ? cmd_fail() : CLI_EXIT_OK;
    cairn_client_close(c);
    if (rc != CLI_EXIT_OK)
        return rc;
    json_t *j = cmd_json(text);
    if (a.common.json)
        cmd_print_json(j);
    else
        print_jobs(j);
    json_decref(j);
    return CLI_EXIT_OK;
}

/* get and cancel: one job id in, one Job out. */
static int jobs_one(const char *noun, const char *vname, int argc, char **argv)
{
    cmd_opt opts[] = {{0}};
    cmd_args a;
    int rc = cmd_parse(noun, verb(vname), opts, 1, 1, argc, argv, &a);
    if (rc >= 0)
        return rc;
    cairn_client *c = cmd_client(&a.common, 0);
    if (c == NULL)
        return cmd_status();
    char *text = NULL;
    int r = strcmp(vname, "get") == 0 ? cairn_job_get(c, a.pos[0], &text) : cairn_job_cancel(c, a.pos[0], &text);
    rc = r < 0 ? cmd_fail() : CLI_EXIT_OK;
    cairn_client_close(c);
    if (rc != CLI_EXIT_OK)
        return rc;
    json_t *j = cmd_json(text);
    json_t *job = json_object_get(j, "job");
    if (a.common.json)
        cmd_print_json(j);
    else if (strcmp(vname, "get") == 0)
        cli_job_print(job);
    else
        printf("job %s: %s (cancel requested)\n", cmd_str(job, "job_id"), cmd_str(job, "state"));
    json_decref(j);
    return CLI_EXIT_OK;
}

static int jobs_get(const char *noun, int argc, char **argv)
{
    return jobs_one(noun, "get", argc, argv);
}

static int jobs_cancel(const char *noun, int argc, char **argv)
{
    return jobs_one(noun, "cancel", argc, argv);
}

static int jobs_logs(const char *noun, int argc, char **argv)
{
    int follow = 0;
    const char *from = NULL;
    cmd_opt opts[] = {{"follow", 'f', NULL, "Keep printing the output until the job ends.", NULL, &follow, NULL},
                      {"offset", 0, "BYTES", "Start at this byte of the output (default 0).", &from, NULL, NULL},
                      {0}};
    cmd_args a;
    int rc = cmd_parse(noun, verb("logs"), opts, 1, 1, argc, argv, &a);
    if (rc >= 0)
        return rc;
    long long offset = 0;
    if (from != NULL && (cmd_parse_i64("--offset", from, &offset) != 0 || offset < 0))
        return cmd_usage_error(noun, "logs", "--offset must be a number of bytes, 0 or more");
    cairn_client *c = cmd_client(&a.common, 0);
    if (c == NULL)
        return cmd_status();
    json_t *job = NULL;
    rc = cli_job_output(c, a.pos[0], follow, &offset, &job);
    json_decref(job);
    cairn_client_close(c);
    return rc;
}

int cli_jobs(int argc, char **argv)
{
    return cmd_dispatch("jobs", "Jobs of the server's job service (see 'cairn submit').", job_verbs, NVERBS,
                        argc, argv);
}

void cli_jobs_help(void)
{
    cmd_noun_help(stdout, "jobs", "Jobs of the server's job service (see 'cairn submit').", job_verbs, NVERBS);
}
