/* experiments.c - `cairn experiments list|create|get|rename|delete|restore`. */
#include <stdlib.h>
#include <string.h>

#include "cmd.h"

static const char *view_arg(const char *v, int *bad)
{
    *bad = 0;
    if (v == NULL || strcmp(v, "active") == 0)
        return "ACTIVE_ONLY";
    if (strcmp(v, "deleted") == 0)
        return "DELETED_ONLY";
    if (strcmp(v, "all") == 0)
        return "ALL";
    *bad = 1;
    return NULL;
}

static int exp_list(const char *noun, int argc, char **argv);
static int exp_create(const char *noun, int argc, char **argv);
static int exp_get(const char *noun, int argc, char **argv);
static int exp_rename(const char *noun, int argc, char **argv);
static int exp_delete(const char *noun, int argc, char **argv);
static int exp_restore(const char *noun, int argc, char **argv);

static const cmd_verb exp_verbs[] = {
    {"list", "", "List experiments (ID, name, lifecycle stage, artifact location).", exp_list},
    {"create", "NAME", "Create an experiment and print its id.", exp_create},
    {"get", "ID | --name NAME", "Show one experiment.", exp_get},
    {"rename", "ID NEW_NAME", "Rename an experiment.", exp_rename},
    {"delete", "ID", "Delete an experiment (it can be restored).", exp_delete},
    {"restore", "ID", "Restore a deleted experiment.", exp_restore},
};
#define NVERBS (sizeof exp_verbs / sizeof exp_verbs[0])

static const cmd_verb *verb(const char *name)
{
    for (size_t i = 0; i < NVERBS; i++)
        if (strcmp(exp_verbs[i].name, name) == 0)
            return &exp_verbs[i];
    return &exp_verbs[0];
}

static int exp_list(const char *noun, int argc, char **argv)
{
    const char *view = NULL, *filter = NULL;
    cmd_opt opts[] = {{"view", 0, "active|deleted|all", "Which experiments (default active).", &view, NULL, NULL},
                      {"filter", 0, "FILTER", "MLflow search filter, e.g. \"name LIKE 'wine%'\".", &filter, NULL, NULL},
                      {0}};
    cmd_args a;
    int rc = cmd_parse(noun, verb("list"), opts, 0, 0, argc, argv, &a);
    if (rc >= 0)
        return rc;
    int bad;
    const char *v = view_arg(view, &bad);
    if (bad)
        return cmd_usage_error(noun, "list", "--view must be active, deleted or all, not '%s'", view);
    cairn_client *c = cmd_client(&a.common, 0);
    if (c == NULL)
        return cmd_status();
    char *out = NULL;
    rc = cairn_experiment_search(c, filter, v, &out) < 0 ? cmd_fail() : CLI_EXIT_OK;
    cairn_client_close(c);
    if (rc != CLI_EXIT_OK)
        return rc;
    json_t *j = cmd_json(out);
    if (a.common.json) {
        cmd_print_json(j);
    } else {
        static const char *const h[] = {"ID", "NAME", "STAGE", "ARTIFACT LOCATION"};
        json_t *rows = json_array(), *e;
        size_t i;
        json_array_foreach(json_object_get(j, "experiments"), i, e) {
            json_array_append_new(rows, json_pack("[s,s,s,s]", cmd_str(e, "experiment_id"), cmd_str(e, "name"),
                                                  cmd_str(e, "lifecycle_stage"), cmd_str(e, "artifact_location")));
        }
        cmd_table(h, 4, rows);
        json_decref(rows);
    }
    json_decref(j);
    return CLI_EXIT_OK;
}

static int exp_create(const char *noun, int argc, char **argv)
{
    const char *loc = NULL;
    cmd_opt opts[] = {{"artifact-location", 0, "URI", "Where the runs' artifacts go (server default).", &loc, NULL, NULL},
                      {0}};
    cmd_args a;
    int rc = cmd_parse(noun, verb("create"), opts, 1, 1, argc, argv, &a);
    if (rc >= 0)
        return rc;
    cairn_client *c = cmd_client(&a.common, 0);
    if (c == NULL)
        return cmd_status();
    char *id = NULL;
    rc = cairn_experiment_create(c, a.pos[0], loc, &id) < 0 ? cmd_fail() : CLI_EXIT_OK;
    cairn_client_close(c);
    if (rc == CLI_EXIT_OK) {
        if (a.common.json) {
            json_t *j = json_pack("{s:s}", "experiment_id", id);
            cmd_print_json(j);
            json_decref(j);
        } else {
            printf("%s\n", id);
        }
    }
    cairn_free(id);
    return rc;
}

static int exp_get(const char *noun, int argc, char **argv)
{
    const char *name = NULL;
    cmd_opt opts[] = {{"name", 'n', "NAME", "Look the experiment up by name.", &name, NULL, NULL}, {0}};
    cmd_args a;
    int rc = cmd_parse(noun, verb("get"), opts, 0, 1, argc, argv, &a);
    if (rc >= 0)
        return rc;
    if ((a.npos == 0) == (name == NULL))
        return cmd_usage_error(noun, "get", "give an experiment ID or --name NAME (one of them)");
    cairn_client *c = cmd_client(&a.common, 0);
    if (c == NULL)
        return cmd_status();
    char *out = NULL;
    int r = name ? cairn_experiment_get_by_name(c, name, &out) : cairn_experiment_get(c, a.pos[0], &out);
    rc = r < 0 ? cmd_fail() : CLI_EXIT_OK;
    cairn_client_close(c);
    if (rc != CLI_EXIT_OK)
        return rc;
    json_t *j = cmd_json(out);
    if (a.common.json) {
        cmd_print_json(j);
    } else {
        json_t *e = json_object_get(j, "experiment");
        char t1[32], t2[32];
        printf("experiment_id:     %s\nname:              %s\nlifecycle_stage:   %s\n"
               "artifact_location: %s\ncreation_time:     %s\nlast_update_time:  %s\n",
               cmd_str(e, "experiment_id"), cmd_str(e, "name"), cmd_str(e, "lifecycle_stage"),
               cmd_str(e, "artifact_location"),
               cmd_time(json_integer_value(json_object_get(e, "creation_time")), t1, sizeof t1),
               cmd_time(json_integer_value(json_object_get(e, "last_update_time")), t2, sizeof t2));
        size_t i;
        json_t *tag;
        json_array_foreach(json_object_get(e, "tags"), i, tag)
            printf("tag %s = %s\n", cmd_str(tag, "key"), cmd_str(tag, "value"));
    }
    json_decref(j);
    return CLI_EXIT_OK;
}

/* rename, delete, restore: act, print nothing (or {} with --json). */
static int exp_simple(const char *noun, const char *vname, int npos, int argc, char **argv)
{
    cmd_opt opts[] = {{0}};
    cmd_args a;
    int rc = cmd_parse(noun, verb(vname), opts, npos, npos, argc, argv, &a);
    if (rc >= 0)
        return rc;
    cairn_client *c = cmd_client(&a.common, 0);
    if (c == NULL)
        return cmd_status();
    int r;
    if (strcmp(vname, "rename") == 0)
        r = cairn_experiment_rename(c, a.pos[0], a.pos[1]);
    else if (strcmp(vname, "delete") == 0)
        r = cairn_experiment_delete(c, a.pos[0]);
    else
        r = cairn_experiment_restore(c, a.pos[0]);
    rc = r < 0 ? cmd_fail() : CLI_EXIT_OK;
    cairn_client_close(c);
    if (rc == CLI_EXIT_OK && a.common.json)
        puts("{}");
    return rc;
}

static int exp_rename(const char *noun, int argc, char **argv)
{
    return exp_simple(noun, "rename", 2, argc, argv);
}

static int exp_delete(const char *noun, int argc, char **argv)
{
    return exp_simple(noun, "delete", 1, argc, argv);
}

static int exp_restore(const char *noun, int argc, char **argv)
{
    return exp_simple(noun, "restore", 1, argc, argv);
}

int cli_experiments(int argc, char **argv)
{
    return cmd_dispatch("experiments", "Manage experiments on the tracking server.", exp_verbs, NVERBS,
                        argc, argv);
}

void cli_experiments_help(void)
{
    cmd_noun_help(stdout, "experiments", "Manage experiments on the tracking server.", exp_verbs, NVERBS);
}
