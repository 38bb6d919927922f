/* jobs_int.h - what jobs.c, logs.c and compat.c share: form fields and
 * files, parameters, the job service's presence. Not for other layers. */
#ifndef CAIRN_API_JOBS_INT_H
#define CAIRN_API_JOBS_INT_H

#include <jansson.h>
#include <stdbool.h>

#include "api.h"

#define API_JOBS_CONFIG_MAX (1u << 20) /* bytes of a backend config */
#define API_JOBS_LIST_DEFAULT 100
#define API_JOBS_LIST_MAX 1000

/* NOT_IMPLEMENTED when the server runs no job service. */
int api_jobs_service(const api_ctx *ctx, cerr *e);
/* The first file part named field, or NULL. */
const api_file *api_form_file(const api_request *req, const char *field);
/* A file part's content (at most max bytes) as a NUL-terminated heap text. */
int api_file_read(const api_file *f, size_t max, char **text, size_t *len, cerr *e);
/* args[field], a JSON object {name: value} as text, appended to params
 * (a JSON array) as "name=value" strings. */
int api_jobs_params(const json_t *args, const char *field, json_t *params, cerr *e);
/* Borrowed C strings of a JSON string array (free the array only). */
const char **api_str_array(const json_t *arr, size_t *n);
/* The job named by args[field] (required); *id is that argument. *job is
 * filled (store_job_free it). */
int api_job_load(const api_ctx *ctx, const api_request *req, const char *field, const char **id,
                 store_job *job, cerr *e);
/* The Job object of docs/JOBS.md: the one place a job becomes JSON. */
json_t *api_job_json(const store_job *job);
/* res = {key: Job}; frees *job. */
int api_jobs_answer(store_job *job, const char *key, api_result *res);
/* A boolean argument: true/false (also True/False, 1/0); absent is false. */
int api_bool_arg(const json_t *args, const char *key, bool *out, cerr *e);

#endif
