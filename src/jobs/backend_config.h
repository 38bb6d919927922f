/* backend_config.h - the backend configuration of a job: where it runs, in
 * which container and with which resources.
 *
 * Read from JSON or YAML text. The format is the one HPC users already have
 * (mantik's compute-backend-config: SingularityImage, UnicoreApiUrl,
 * Environment, Resources with UNICORE's resource names) plus Cairn's fields:
 * Backend, ContainerRuntime, Modules, PreRunCommands, PostRunCommands,
 * SbatchOptions and Account. docs/BACKENDS.md documents every field.
 *
 * Every field is type-checked and an unknown field is an error that names it
 * and the closest known name. Runtime and Memory are normalised to seconds
 * and megabytes. Strings that end up in batch scripts are checked for
 * characters they must not hold (newlines everywhere, and anything beyond a
 * safe set in queue, QoS, reservation, account and module names). */
#ifndef CAIRN_BACKEND_CONFIG_H
#define CAIRN_BACKEND_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "../store/store_job.h" /* backend_kind, backend_kind_name, backend_kind_parse */
#include "../util/err.h"

#define BACKEND_UNSET (-1)                        /* an integer field not given */
#define BACKEND_RUNTIME_MAX (366LL * 24 * 3600)   /* seconds */
#define BACKEND_MEMORY_MAX_MB (1LL << 30)         /* 1 PiB */
#define BACKEND_COUNT_MAX 1000000                 /* nodes, CPUs, GPUs */
#define BACKEND_LIST_MAX 256                      /* entries of a list or of Environment */
#define BACKEND_STRING_MAX 4096                   /* bytes of one string */

typedef enum {
    CONTAINER_NONE,
    CONTAINER_APPTAINER,
    CONTAINER_SINGULARITY,
    CONTAINER_CHARLIECLOUD,
    CONTAINER_PODMAN,
} container_runtime;

typedef enum { BACKEND_CONFIG_AUTO, BACKEND_CONFIG_JSON, BACKEND_CONFIG_YAML } backend_config_format;

typedef struct {
    char *name;
    char *value;
} backend_env_var;

/* Integers are BACKEND_UNSET and strings NULL when not given. */
typedef struct {
    int64_t runtime_s;      /* Runtime */
    int64_t nodes;          /* Nodes */
    int64_t total_cpus;     /* TotalCPUs (or CPUs) */
    int64_t cpus_per_node;  /* CPUsPerNode */
    int64_t gpus_per_node;  /* GPUsPerNode */
    int64_t memory_mb;      /* Memory, per node */
    int exclusive;          /* Exclusive: 0, 1, or BACKEND_UNSET */
    char *queue;            /* Queue (Slurm partition) */
    char *reservation;
    char *node_constraints;
    char *qos;
} backend_resources;

typedef struct backend_config {
    backend_kind backend;        /* default local */
    container_runtime container; /* default none, apptainer when an image is given */
    char *image;                 /* Image (or SingularityImage) */
    char *unicore_api_url;
    char *account;               /* Account (or Project) */
    backend_env_var *env;
    size_t nenv;
    char **modules;
    size_t nmodules;
    char **pre_run;
    size_t npre_run;
    char **post_run;
    size_t npost_run;
    char **sbatch_options;
    size_t nsbatch_options;
    backend_resources resources;
} backend_config;

/* AUTO reads JSON when the first non-blank character is '{', YAML otherwise. */
int backend_config_parse(const char *text, size_t len, backend_config_format fmt, backend_config **out, cerr *e);
/* Read a file (at most YTREE_TEXT_MAX bytes): .json is JSON, .yaml and .yml
 * YAML, anything else AUTO. */
int backend_config_load(const char *path, backend_config **out, cerr *e);
void backend_config_free(backend_config *c);

const char *container_runtime_name(container_runtime r);

/* The value forms, for reuse (e.g. command-line flags). The text is one
 * scalar; field names the setting in error messages. */
int backend_parse_runtime(const char *text, const char *field, int64_t *seconds, cerr *e);
int backend_parse_memory(const char *text, const char *field, int64_t *mb, cerr *e);

#endif
