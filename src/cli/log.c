/* log.c - `cairn log param|metric|tag KEY VALUE`: logging from shell
 * scripts into the run named by --run-id or MLFLOW_RUN_ID. The item goes
 * through libcairn's batching thread and is flushed before exit; when the
 * server cannot be reached it lands in the offline spool (exit 0, with a
 * note on stderr). */
#include <stdlib.h>
#include <string.h>

#include "cmd.h"

static int log_param(const char *noun, int argc, char **argv);
static int log_metric(const char *noun, int argc, char **argv);
static int log_tag(const char *noun, int argc, char **argv);

static const cmd_verb log_verbs[] = {
    {"param", "KEY VALUE", "Log a parameter of the run.", log_param},
    {"metric", "KEY VALUE", "Log a metric value (a number; NaN and Infinity allowed).", log_metric},
    {"tag", "KEY VALUE", "Set a tag of the run.", log_tag},
};
#define NVERBS (sizeof log_verbs / sizeof log_verbs[0])

static int log_one(const char *noun, const cmd_verb *v, int argc, char **argv)
{
    const char *run = NULL, *step_s = NULL, *ts_s = NULL;
    int metric = strcmp(v->name, "metric") == 0;
    cmd_opt opts[] = {{"run-id", 'r', "RUN_ID", "Run to log into (default $MLFLOW_RUN_ID).", &run, NULL, NULL},
                      {"step", 's', "N", "Metric step (default 0).", &step_s, NULL, NULL},
                      {"timestamp", 't', "MS", "Metric timestamp in ms since the epoch (default now).", &ts_s, NULL, NULL},
                      {0}};
    if (!metric)
        opts[1] = (cmd_opt){0};
    cmd_args a;
    int rc = cmd_parse(noun, v, opts, 2, 2, argc, argv, &a);
    if (rc >= 0)
        return rc;
    const char *run_id;
    if ((rc = cmd_run_id(noun, v->name, run, &run_id)) != 0)
        return rc;
    double value = 0;
    long long step = 0, ts = 0;
    if (metric && ((rc = cmd_parse_double("metric value", a.pos[1], &value)) != 0 ||
                   (step_s && (rc = cmd_parse_i64("--step", step_s, &step)) != 0) ||
                   (ts_s && (rc = cmd_parse_i64("--timestamp", ts_s, &ts)) != 0)))
        return rc;
    cairn_client *c = cmd_client(&a.common, 1);
    if (c == NULL)
        return cmd_status();
    int r;
    if (metric)
        r = cairn_log_metric(c, run_id, a.pos[0], value, ts, step);
    else if (strcmp(v->name, "param") == 0)
        r = cairn_log_param(c, run_id, a.pos[0], a.pos[1]);
    else
        r = cairn_set_tag(c, run_id, a.pos[0], a.pos[1]);
    if (r == CAIRN_OK)
        r = cairn_client_flush(c);
    rc = r < 0 ? cmd_fail() : CLI_EXIT_OK;
    if (rc == CLI_EXIT_OK && cmd_was_spooled(c, run_id))
        cmd_spooled(c, run_id, "the value");
    cairn_client_close(c);
    if (rc == CLI_EXIT_OK && a.common.json)
        puts("{}");
    return rc;
}

static int log_param(const char *noun, int argc, char **argv)
{
    return log_one(noun, &log_verbs[0], argc, argv);
}

static int log_metric(const char *noun, int argc, char **argv)
{
    return log_one(noun, &log_verbs[1], argc, argv);
}

static int log_tag(const char *noun, int argc, char **argv)
{
    return log_one(noun, &log_verbs[2], argc, argv);
}

int cli_log(int argc, char **argv)
{
    return cmd_dispatch("log", "Log params, metrics and tags into a run (for shell scripts).", log_verbs,
                        NVERBS, argc, argv);
}

void cli_log_help(void)
{
    cmd_noun_help(stdout, "log", "Log params, metrics and tags into a run (for shell scripts).", log_verbs,
                  NVERBS);
}
