/* fuzz_path.c - libFuzzer harness for the artifact path checks
 * (src/util/path.c): arbitrary bytes as the relative path of a request.
 *
 * Checks beyond "does not crash": whatever is accepted must resolve to a
 * path that starts with the root and has no ".." component. The root is a
 * fixed empty folder created once, so resolution touches only it. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/path.h"

static const char *fuzz_root(void)
{
    static char root[64];
    if (root[0] == '\0') {
        snprintf(root, sizeof root, "/tmp/cairn-fuzz-path-%d", (int)getpid());
        mkdir(root, 0700);
    }
    return root;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *rel = malloc(size + 1);
    memcpy(rel, data, size);
    rel[size] = '\0'; /* embedded NULs end the C string, as they would in a request */
    const char *root = fuzz_root();
    sbuf out = SBUF_INIT, norm = SBUF_INIT;
    cerr e;
    if (path_resolve_under(root, rel, &out, &e) == 0) {
        if (strncmp(sbuf_str(&out), root, strlen(root)) != 0 || strstr(sbuf_str(&out), "/../"))
            abort();
    }
    if (path_normalize_rel(rel, &norm, &e) == 0 && strstr(sbuf_str(&norm), ".."))
        if (strcmp(sbuf_str(&norm), "..") == 0 || strncmp(sbuf_str(&norm), "../", 3) == 0)
            abort();
    sbuf_free(&out);
    sbuf_free(&norm);
    free(rel);
    return 0;
}
