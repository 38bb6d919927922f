/* fuzz_mlruns.c - libFuzzer harness for the readers of an MLflow file store
 * that `cairn import mlruns` uses (src/cli/mlruns.c): the first input byte
 * picks meta.yaml (libyaml, flat mapping) or a metric file line; the rest is
 * the text. Checks beyond "does not crash": a parsed meta.yaml is an object
 * of strings, and a metric line that parses round-trips its step. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/mlruns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    char *text = malloc(size);
    if (text == NULL)
        return 0;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    if (data[0] & 1) {
        json_t *j = mlruns_meta_parse(text, size - 1);
        if (j != NULL) {
            const char *k;
            json_t *v;
            if (!json_is_object(j))
                abort();
            json_object_foreach(j, k, v) {
                if (!json_is_string(v))
                    abort();
            }
            json_decref(j);
        }
    } else {
        long long ts, step;
        double v;
        if (mlruns_metric_line(text, &ts, &v, &step) == 0) {
            char again[128];
            snprintf(again, sizeof again, "%lld %.17g %lld", ts, v, step);
            long long ts2, step2;
            double v2;
            if (mlruns_metric_line(again, &ts2, &v2, &step2) != 0 || ts2 != ts || step2 != step)
                abort();
        }
    }
    free(text);
    return 0;
}
