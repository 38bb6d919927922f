/* mlruns.h - readers for the files of an MLflow file store (./mlruns), used
 * by `cairn import mlruns`: meta.yaml (a flat YAML mapping, read with
 * libyaml), a param or tag file (its whole text) and a metric file's lines
 * ("timestamp value step"). Fuzzed by fuzz/fuzz_mlruns.c. */
#ifndef CAIRN_CLI_MLRUNS_H
#define CAIRN_CLI_MLRUNS_H

#include <stddef.h>

#include <jansson.h>

/* The top-level scalar keys and values of a YAML mapping as a JSON object of
 * strings (nested values are skipped); NULL if it is not valid YAML. */
json_t *mlruns_meta_parse(const char *text, size_t len);
/* The same for a file; NULL if it cannot be read or parsed. */
json_t *mlruns_meta_read(const char *path);
/* A file's whole text, NUL-terminated; NULL if it cannot be read. */
char *mlruns_read_text(const char *path);
/* dir/name into out (PATH_MAX bytes); -1 if it does not fit. */
int mlruns_join(char *out, const char *dir, const char *name);
/* Parses "timestamp value [step]" (value may be nan, inf, -inf); 0 or -1. */
int mlruns_metric_line(const char *line, long long *ts, double *value, long long *step);

#endif
