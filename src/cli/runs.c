/* runs.c - `cairn runs list|search|get|create|end|delete|restore`. */
#include <stdlib.h>
#include <string.h>

#include "cmd.h"

static int runs_list(const char *noun, int argc, char **argv);
static int runs_search(const char *noun, int argc, char **argv);
static int runs_get(const char *noun, int argc, char **argv);
static int runs_create(const char *noun, int argc, char **argv);
static int runs_end(const char *noun, int argc, char **argv);
static int runs_delete(const char *noun, int argc, char **argv);
static int runs_restore(const char *noun, int argc, char **argv);

static const cmd_verb run_verbs[] = {
    {"list", "", "List the runs of experiments (newest first).", runs_list},
    {"search", "", "Search runs with an MLflow filter and ordering.", runs_search},
    {"get", "[RUN_ID]", "Show a run: info, params, metrics, tags (default $MLFLOW_RUN_ID).", runs_get},
    {"create", "", "Create a run and print its id (for shell scripts: export MLFLOW_RUN_ID).", runs_create},
    {"end", "[RUN_ID]", "Set a run's final status (default FINISHED) and end time.", runs_end},
    {"delete", "RUN_ID", "Delete a run (it can be restored).", runs_delete},
    {"restore", "RUN_ID", "Restore a deleted run.", runs_restore},
};
#define NVERBS (sizeof run_verbs / sizeof run_verbs[0])

static const cmd_verb *verb(const char *name)
{
    for (size_t i = 0; i < NVERBS; i++)
        if (strcmp(run_verbs[i].name, name) == 0)
            return &run_verbs[i];
    return &run_verbs[0];
}

static char *join(json_t *list)
{
    size_t n = 0, i;
    json_t *v;
    json_array_foreach(list, i, v) n += strlen(json_string_value(v)) + 1;
    char *s = calloc(1, n + 1);
    if (s == NULL)
        return NULL;
    json_array_foreach(list, i, v) {
        if (i)
            strcat(s, ",");
        strcat(s, json_string_value(v));
    }
    return s;
}

static void print_runs(json_t *j)
{
    static const char *const h[] = {"RUN ID", "NAME", "STATUS", "START (UTC)", "EXPERIMENT"};
    json_t *rows = json_array(), *run;
    size_t i;
    json_array_foreach(json_object_get(j, "runs"), i, run) {
        json_t *info = json_object_get(run, "info");
        char t[32];
        json_array_append_new(rows, json_pack("[s,s,s,s,s]", cmd_str(info, "run_id"), cmd_str(info, "run_name"),
                                              cmd_str(info, "status"),
                                              cmd_time(json_integer_value(json_object_get(info, "start_time")), t, sizeof t),
                                              cmd_str(info, "experiment_id")));
    }
    cmd_table(h, 5, rows);
    json_decref(rows);
}

static int runs_query(const char *noun, const char *vname, int with_filter, int argc, char **argv)
{
    json_t *exps = NULL, *orders = NULL;
    const char *filter = NULL, *view = NULL, *max = NULL;
    cmd_opt all[] = {{"experiment-id", 'x', "ID", "Experiment (repeatable; default $MLFLOW_EXPERIMENT_ID or 0).", NULL, NULL, &exps},
                     {"view", 0, "active|deleted|all", "Which runs (default active).", &view, NULL, NULL},
                     {"max-results", 'n', "N", "At most N runs (default all).", &max, NULL, NULL},
                     {"filter", 'f', "FILTER", "MLflow filter, e.g. \"metrics.rmse < 0.8 and params.alpha = '0.5'\".", &filter, NULL, NULL},
                     {"order-by", 'o', "CLAUSE", "Ordering, e.g. \"metrics.rmse ASC\" (repeatable).", NULL, NULL, &orders},
                     {0}};
    if (!with_filter)
        all[3] = all[4] = (cmd_opt){0};
    cmd_args a;
    int rc = cmd_parse(noun, verb(vname), all, 0, 0, argc, argv, &a);
    if (rc >= 0)
        goto out;
    long long n = 0;
    if (max != NULL && ((rc = cmd_parse_i64("--max-results", max, &n)) != 0 || n < 0)) {
        rc = CLI_EXIT_USAGE;
        goto out;
    }
    const char *v = "ACTIVE_ONLY";
    if (view != NULL && strcmp(view, "deleted") == 0)
        v = "DELETED_ONLY";
    else if (view != NULL && strcmp(view, "all") == 0)
        v = "ALL";
    else if (view != NULL && strcmp(view, "active") != 0) {
        rc = cmd_usage_error(noun, vname, "--view must be active, deleted or all, not '%s'", view);
        goto out;
    }
    if (orders == NULL)
        orders = json_pack("[s]", "attributes.start_time DESC");
    char *ids = exps ? join(exps) : NULL, *order = join(orders);
    cairn_client *c = cmd_client(&a.common, 0);
    char *text = NULL;
    rc = c == NULL ? cmd_status()
                   : cairn_run_search(c, ids, filter, order, v, (int)n, &text) < 0 ? cmd_fail() : CLI_EXIT_OK;
    cairn_client_close(c);
    free(ids);
    free(order);
    if (rc == CLI_EXIT_OK) {
        json_t *j = cmd_json(text);
        if (a.common.json)
            cmd_print_json(j);
        else
            print_runs(j);
        json_decref(j);
    }
out:
    json_decref(exps);
    json_decref(orders);
    return rc;
}

static int runs_list(const char *noun, int argc, char **argv)
{
    return runs_query(noun, "list", 0, argc, argv);
}

static int runs_search(const char *noun, int argc, char **argv)
{
    return runs_query(noun, "search", 1, argc, argv);
}

static void print_kv(const char *title, json_t *list, const char *valkey)
{
    size_t i;
    json_t *it;
    json_array_foreach(list, i, it) {
        json_t *v = json_object_get(it, valkey);
        if (json_is_string(v))
            printf("%-8s %s = %s\n", title, cmd_str(it, "key"), json_string_value(v));
        else
            printf("%-8s %s = %.15g (step %lld)\n", title, cmd_str(it, "key"), json_number_value(v),
                   (long long)json_integer_value(json_object_get(it, "step")));
    }
}

static int runs_get(const char *noun, int argc, char **argv)
{
    cmd_opt opts[] = {{0}};
    cmd_args a;
    int rc = cmd_parse(noun, verb("get"), opts, 0, 1, argc, argv, &a);
    if (rc >= 0)
        return rc;
    const char *run_id;
    if ((rc = cmd_run_id(noun, "get", a.npos ? a.pos[0] : NULL, &run_id)) != 0)
        return rc;
    cairn_client *c = cmd_client(&a.common, 0);
    if (c == NULL)
        return cmd_status();
    char *text = NULL;
    rc = cairn_run_get(c, run_id, &text) < 0 ? cmd_fail() : CLI_EXIT_OK;
    cairn_client_close(c);
    if (rc != CLI_EXIT_OK)
        return rc;
    json_t *j = cmd_json(text);
    if (a.common.json) {
        cmd_print_json(j);
    } else {
        json_t *info = json_object_get(json_object_get(j, "run"), "info");
        json_t *data = json_object_get(json_object_get(j, "run"), "data");
        char t1[32], t2[32];
        printf("run_id:          %s\nrun_name:        %s\nexperiment_id:   %s\nstatus:          %s\n"
               "start_time:      %s\nend_time:        %s\nlifecycle_stage: %s\nartifact_uri:    %s\n",
               cmd_str(info, "run_id"), cmd_str(info, "run_name"), cmd_str(info, "experiment_id"),
               cmd_str(info, "status"), cmd_time(json_integer_value(json_object_get(info, "start_time")), t1, sizeof t1),
               cmd_time(json_integer_value(json_object_get(info, "end_time")), t2, sizeof t2),
               cmd_str(info, "lifecycle_stage"), cmd_str(info, "artifact_uri"));
        print_kv("param", json_object_get(data, "params"), "value");
        print_kv("metric", json_object_get(data, "metrics"), "value");
        print_kv("tag", json_object_get(data, "tags"), "value");
    }
    json_decref(j);
    return CLI_EXIT_OK;
}

static int runs_create(const char *noun, int argc, char **argv)
{
    const char *exp = NULL, *exp_name = NULL, *name = NULL;
    cmd_opt opts[] = {{"experiment-id", 'x', "ID", "Experiment (default $MLFLOW_EXPERIMENT_ID, else 0).", &exp, NULL, NULL},
                      {"experiment-name", 0, "NAME", "Experiment by name (created if missing).", &exp_name, NULL, NULL},
                      {"name", 'n', "RUN_NAME", "Run name.", &name, NULL, NULL},
                      {0}};
    cmd_args a;
    int rc = cmd_parse(noun, verb("create"), opts, 0, 0, argc, argv, &a);
    if (rc >= 0)
        return rc;
    if (exp && exp_name)
        return cmd_usage_error(noun, "create", "give --experiment-id or --experiment-name, not both");
    cairn_client *c = cmd_client(&a.common, 1);
    if (c == NULL)
        return cmd_status();
    char *owned = NULL, *run_id = NULL;
    int r = exp_name ? cairn_experiment_ensure(c, exp_name, &owned) : CAIRN_OK;
    if (r == CAIRN_OK)
        r = cairn_run_create(c, owned ? owned : exp, name, 0, &run_id);
    rc = r < 0 ? cmd_fail() : CLI_EXIT_OK;
    if (rc == CLI_EXIT_OK && cairn_client_is_offline(c))
        cmd_spooled(c, NULL, "the new run");
    cairn_client_close(c);
    if (rc == CLI_EXIT_OK) {
        if (a.common.json) {
            json_t *j = json_pack("{s:s}", "run_id", run_id);
            cmd_print_json(j);
            json_decref(j);
        } else {
            printf("%s\n", run_id);
        }
    }
    cairn_free(owned);
    cairn_free(run_id);
    return rc;
}

static int runs_end(const char *noun, int argc, char **argv)
{
    const char *status = "FINISHED";
    cmd_opt opts[] = {{"status", 's', "STATUS", "FINISHED (default), FAILED, KILLED, RUNNING or SCHEDULED.", &status, NULL, NULL},
                      {0}};
    cmd_args a;
    int rc = cmd_parse(noun, verb("end"), opts, 0, 1, argc, argv, &a);
    if (rc >= 0)
        return rc;
    const char *run_id;
    if ((rc = cmd_run_id(noun, "end", a.npos ? a.pos[0] : NULL, &run_id)) != 0)
        return rc;
    cairn_client *c = cmd_client(&a.common, 1);
    if (c == NULL)
        return cmd_status();
    rc = cairn_run_end(c, run_id, status) < 0 ? cmd_fail() : CLI_EXIT_OK;
    if (rc == CLI_EXIT_OK && cmd_was_spooled(c, run_id))
        cmd_spooled(c, run_id, "the status");
    cairn_client_close(c);
    if (rc == CLI_EXIT_OK && a.common.json)
        puts("{}");
    return rc;
}

static int runs_simple(const char *noun, const char *vname, int argc, char **argv)
{
    cmd_opt opts[] = {{0}};
    cmd_args a;
    int rc = cmd_parse(noun, verb(vname), opts, 1, 1, argc, argv, &a);
    if (rc >= 0)
        return rc;
    cairn_client *c = cmd_client(&a.common, 0);
    if (c == NULL)
        return cmd_status();
    int r = strcmp(vname, "delete") == 0 ? cairn_run_delete(c, a.pos[0]) : cairn_run_restore(c, a.pos[0]);
    rc = r < 0 ? cmd_fail() : CLI_EXIT_OK;
    cairn_client_close(c);
    if (rc == CLI_EXIT_OK && a.common.json)
        puts("{}");
    return rc;
}

static int runs_delete(const char *noun, int argc, char **argv)
{
    return runs_simple(noun, "delete", argc, argv);
}

static int runs_restore(const char *noun, int argc, char **argv)
{
    return runs_simple(noun, "restore", argc, argv);
}

int cli_runs(int argc, char **argv)
{
    return cmd_dispatch("runs", "Manage runs on the tracking server.", run_verbs, NVERBS, argc, argv);
}

void cli_runs_help(void)
{
    cmd_noun_help(stdout, "runs", "Manage runs on the tracking server.", run_verbs, NVERBS);
}
