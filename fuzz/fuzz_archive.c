/* fuzz_archive.c - libFuzzer harness for archive_unpack (src/jobs/archive.c):
 * the input is the archive file, unpacked into a fresh directory inside a
 * scratch folder with small limits. Checks beyond "does not crash": nothing
 * appears in the scratch folder beside the destination, every path below the
 * destination is a regular file, a directory or a symbolic link, no file has
 * a setuid or setgid bit, no link that resolves leaves the destination, and
 * an accepted archive's project root lies inside the destination. */
#include <dirent.h>
#include <ftw.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jobs/archive.h"

static char scratch[64], dest[96], arc[96];
static char real_dest[PATH_MAX];

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st, (void)flag, (void)f;
    return remove(p);
}

static int check_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)flag, (void)f;
    if (!S_ISREG(st->st_mode) && !S_ISDIR(st->st_mode) && !S_ISLNK(st->st_mode))
        abort();
    if (st->st_mode & (S_ISUID | S_ISGID))
        abort();
    char r[PATH_MAX];
    size_t n = strlen(real_dest);
    if (S_ISLNK(st->st_mode) && realpath(p, r) != NULL && (strncmp(r, real_dest, n) != 0 || (r[n] && r[n] != '/')))
        abort();
    return 0;
}

/* The scratch folder holds the archive and dest, nothing else. */
static void check_scratch(void)
{
    DIR *d = opendir(scratch);
    int n = 0;
    for (struct dirent *de; d != NULL && (de = readdir(d)) != NULL;)
        n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
    if (d == NULL || n != 2)
        abort();
    closedir(d);
}

static void remove_scratch(void)
{
    nftw(scratch, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (scratch[0] == '\0') {
        strcpy(scratch, "/tmp/fuzz-archive-XXXXXX");
        if (mkdtemp(scratch) == NULL)
            abort();
        atexit(remove_scratch);
        snprintf(dest, sizeof dest, "%s/dest", scratch);
        snprintf(arc, sizeof arc, "%s/in.archive", scratch);
    }
    FILE *f = fopen(arc, "wb");
    if (f == NULL || fwrite(data, 1, size, f) != size)
        abort();
    fclose(f);
    if (mkdir(dest, 0700) != 0 || realpath(dest, real_dest) == NULL)
        abort();
    archive_limits lim = {1000, 8u << 20, 1024};
    archive_info info;
    cerr e;
    if (archive_unpack(arc, dest, &lim, &info, &e) == 0) {
        if (strncmp(info.project_root, real_dest, strlen(real_dest)) != 0)
            abort();
        archive_info_free(&info);
    }
    nftw(dest, check_one, 16, FTW_PHYS);
    check_scratch();
    nftw(dest, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}
