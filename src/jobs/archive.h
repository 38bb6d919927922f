/* archive.h - project archives: unpacking an uploaded project safely
 * (server side, the job service) and packing a directory (`cairn submit`).
 *
 * archive_unpack reads a zip or a tar (plain, gzip, bzip2 or xz), the format
 * recognised by content, and creates only regular files, directories and
 * symbolic links under dest. Refused, each as INVALID_PARAMETER_VALUE with
 * "archive member 'NAME': RULE": absolute names, a ".." component, names
 * longer than the limit, hard links, devices, FIFOs and sockets, setuid or
 * setgid bits, a member whose path passes through a symbolic link, a link
 * whose target leaves dest, more entries or more unpacked bytes than the
 * limits (counted while writing, not taken from the headers). Ownership is
 * never restored; modes keep their permission bits (owner rw/rwx forced so
 * that dest can always be removed). Other formats (cpio, mtree, ...) are not
 * read: mtree, for one, names files of the host. On failure dest may hold
 * what was extracted so far (never anything outside it); the caller removes
 * it. dest must exist.
 *
 * archive_pack_dir writes a directory as a tar.gz with relative names:
 * regular files, directories, symbolic links kept as links; `.git` (folder
 * or file) is skipped at every level, as is the output file itself when it
 * lies inside the directory, and anything else (sockets, FIFOs, devices). */
#ifndef CAIRN_JOBS_ARCHIVE_H
#define CAIRN_JOBS_ARCHIVE_H

#include <stddef.h>
#include <stdint.h>

#include "../util/err.h"

#define ARCHIVE_MAX_ENTRIES 100000                     /* members of one archive */
#define ARCHIVE_MAX_BYTES (1024ULL * 1024 * 1024)      /* unpacked bytes, all members */
#define ARCHIVE_MAX_PATH 4096                          /* bytes of a member's name */

typedef struct {
    uint64_t max_entries;
    uint64_t max_bytes;
    size_t max_path;
} archive_limits;

/* The limits above. */
extern const archive_limits archive_default_limits;

typedef struct {
    uint64_t entries;     /* members extracted */
    uint64_t bytes;       /* file bytes written */
    /* Heap string: the project's root inside dest. When every member sits
     * under one top-level folder that holds an MLproject (or mlproject) file,
     * as in GitHub's zips, that folder; otherwise dest itself (its realpath). */
    char *project_root;
} archive_info;

/* lim NULL: archive_default_limits. info may be NULL; when given it is
 * filled on success and must be released with archive_info_free. */
int archive_unpack(const char *archive_path, const char *dest_dir, const archive_limits *lim,
                   archive_info *info, cerr *e);
void archive_info_free(archive_info *info);

/* Writes dir as a gzip-compressed tar at out_path (created or truncated). */
int archive_pack_dir(const char *dir, const char *out_path, cerr *e);

#endif
