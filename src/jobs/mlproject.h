/* mlproject.h - MLflow projects: the MLproject file and resolving a run.
 *
 * mlproject_load reads a project directory: its MLproject (or mlproject)
 * YAML file with `name`, `entry_points` (each with `parameters` and a
 * `command` template) and at most one of `docker_env`, `python_env`,
 * `conda_env`, kept as given. A directory without the file is a project too:
 * any *.py file in it runs with `python`, any *.sh file with `bash`, and the
 * entry point is the file's relative path (as in MLflow, a project with the
 * file may also name such a script as its entry point).
 *
 * mlproject_resolve turns an entry point and the user's key=value parameters
 * into the final command line, as MLflow's EntryPoint.compute_command does:
 * declared parameters are checked by type (string, float, int, path, uri),
 * defaults fill the gaps, each value is substituted shell-quoted into the
 * `{name}` places of the template (`{{` and `}}` are literal braces), and
 * parameters the entry point does not declare are appended as `--key value`.
 * Every error names the entry point or parameter and what was accepted. */
#ifndef CAIRN_MLPROJECT_H
#define CAIRN_MLPROJECT_H

#include <stdbool.h>
#include <stddef.h>

#include "../util/err.h"

#define MLPROJECT_ENTRY_POINTS_MAX 256  /* entry points of one project */
#define MLPROJECT_PARAMS_MAX 256        /* parameters of one entry point, or of one run */
#define MLPROJECT_NAME_MAX 128          /* bytes of an entry point or parameter name */
#define MLPROJECT_COMMAND_MAX 65536     /* bytes of a resolved command */
#define MLPROJECT_SCRIPTS_MAX 64        /* scripts listed in an "unknown entry point" error */

typedef enum {
    MLPROJECT_STRING,
    MLPROJECT_FLOAT,
    MLPROJECT_INT,
    MLPROJECT_PATH,
    MLPROJECT_URI,
} mlproject_type;

typedef struct {
    char *name;
    mlproject_type type;
    char *default_value; /* NULL: required */
} mlproject_param;

typedef struct {
    char *name;
    char *command;       /* the template, as written */
    mlproject_param *params;
    size_t nparams;
} mlproject_entry;

typedef enum {
    MLPROJECT_ENV_NONE,
    MLPROJECT_ENV_DOCKER,
    MLPROJECT_ENV_PYTHON, /* env_file: python_env YAML, relative to the project */
    MLPROJECT_ENV_CONDA,  /* env_file: conda environment YAML */
} mlproject_env;

typedef struct mlproject {
    char *dir;             /* the project directory, as given */
    char *name;            /* `name`, or NULL */
    bool has_file;         /* an MLproject file was found */
    mlproject_entry *entries;
    size_t nentries;
    mlproject_env env;
    char *env_file;        /* python_env / conda_env */
    char *docker_image;    /* docker_env.image */
    char **docker_volumes; /* docker_env.volumes */
    size_t ndocker_volumes;
    char **docker_environment; /* docker_env.environment: "NAME" or "NAME=value" */
    size_t ndocker_environment;
    char **scripts;        /* top-level *.py and *.sh files, sorted (for errors) */
    size_t nscripts;
} mlproject;

/* A parameter as resolved for a run: its raw value (not quoted). */
typedef struct {
    char *key;
    char *value;
} mlproject_kv;

typedef struct {
    char *entry_point;
    char *command;         /* the final command line, for /bin/sh -c */
    mlproject_kv *params;  /* declared ones in declaration order, then the others as given */
    size_t nparams;
} mlproject_run;

/* Load the project in dir. */
int mlproject_load(const char *dir, mlproject **out, cerr *e);
/* Parse MLproject text as if found in dir (dir is used only for script
 * entry points and may be NULL). */
int mlproject_parse(const char *text, size_t len, const char *dir, mlproject **out, cerr *e);
void mlproject_free(mlproject *p);

const mlproject_entry *mlproject_entry_find(const mlproject *p, const char *name);
const char *mlproject_type_name(mlproject_type t);

/* Resolve entry point entry (NULL: "main") with params, n strings "key=value". */
int mlproject_resolve(const mlproject *p, const char *entry, const char *const *params, size_t n,
                      mlproject_run *out, cerr *e);
void mlproject_run_free(mlproject_run *r);

#endif
