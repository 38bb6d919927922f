/* validate.h - MLflow's input rules (mlflow/utils/validation.py, 2.9.2).
 *
 * One set of rules for every writer: api/ checks a request with them before
 * it calls the store, and jobs/ checks a submission with them (experiment
 * name, run name, the tags and parameters a job's run gets) before it
 * records anything. They live beside the store because both layers are
 * above it; the store's entry points do not run them again, so the
 * log-metric fast path checks each value once.
 *
 * Every limit is named here. Lengths are counted in characters (Unicode code
 * points), as Python's len() counts them, not in bytes. Each function returns
 * 0, or -1 with INVALID_PARAMETER_VALUE and MLflow's message. */
#ifndef CAIRN_VALIDATE_H
#define CAIRN_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../util/err.h"

#define MAX_PARAMS_TAGS_PER_BATCH 100
#define MAX_METRICS_PER_BATCH 1000
#define MAX_DATASETS_PER_BATCH 1000
#define MAX_ENTITIES_PER_BATCH 1000
#define MAX_BATCH_LOG_REQUEST_SIZE 1000000
#define MAX_PARAM_VAL_LENGTH 6000
#define MAX_TAG_VAL_LENGTH 5000
#define MAX_EXPERIMENT_NAME_LENGTH 500
#define MAX_EXPERIMENT_TAG_KEY_LENGTH 250
#define MAX_EXPERIMENT_TAG_VAL_LENGTH 5000
#define MAX_ENTITY_KEY_LENGTH 250
#define MAX_EXPERIMENTS_LISTED_PER_PAGE 50000
#define MAX_DATASET_NAME_SIZE 500
#define MAX_DATASET_DIGEST_SIZE 36
#define MAX_DATASET_SCHEMA_SIZE 1048575
#define MAX_DATASET_SOURCE_SIZE 65535
#define MAX_DATASET_PROFILE_SIZE 16777215
#define MAX_INPUT_TAG_KEY_SIZE 255
#define MAX_INPUT_TAG_VALUE_SIZE 500
/* mlflow/store/tracking/__init__.py and handlers.py */
#define SEARCH_MAX_RESULTS_DEFAULT 1000
#define SEARCH_MAX_RESULTS_THRESHOLD 50000
#define MAX_RESULTS_GET_METRIC_HISTORY 25000

/* Characters (code points) in a UTF-8 string. */
size_t validate_utf8_len(const char *s);

/* kind is "metric", "parameter" or "tag" (MLflow's wording). */
int validate_entity_name(const char *kind, const char *name, cerr *e);
/* "Param value '...' had length N, which exceeded length limit of L". */
int validate_length(const char *entity, size_t limit, const char *value, cerr *e);
int validate_metric(const char *key, double value, bool value_ok, int64_t timestamp, cerr *e);
int validate_param(const char *key, const char *value, cerr *e);
int validate_tag(const char *key, const char *value, cerr *e);
int validate_experiment_tag(const char *key, const char *value, cerr *e);
int validate_experiment_name(const char *name, cerr *e);
int validate_batch_limit(const char *entity, size_t limit, size_t n, cerr *e);
int validate_run_id(const char *run_id, cerr *e);

/* posixpath.normpath, for MLflow's "must not resolve to other names" rule.
 * Returns a heap string. */
char *validate_normpath(const char *path);

#endif
