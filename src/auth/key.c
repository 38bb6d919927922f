/* key.c - the token signing key: AUTH_KEY_LEN random bytes in a file of
 * their own, created at first start, read at every later one.
 *
 * Why a file and these checks: whoever reads the key can mint tokens for
 * any user, so the file must be private (mode 0600, our own, a regular
 * file, not a link) and we refuse to run on one that is not, rather than
 * fix it silently. A file of the wrong size is refused too: a truncated key
 * is a weak key. Creation writes a temporary file (mkstemp: O_EXCL, 0600),
 * fsyncs it and links it into place, so that the key is durable before any
 * token is signed with it, a reader never sees half a key, and of two
 * servers starting at once on one folder the second reads the first's key.
 * The key is never logged nor put in a message. */
#include "auth.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Reads the whole key from fd after checking what it is. */
static int auth_key_read_fd(int fd, const char *path, uint8_t key[AUTH_KEY_LEN], cerr *e)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return cerr_set(e, CERR_INVALID_STATE, "key file %s: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return cerr_set(e, CERR_INVALID_STATE, "key file %s is not a regular file", path);
    if (st.st_uid != geteuid())
        return cerr_set(e, CERR_INVALID_STATE,
                        "key file %s belongs to user %lu, not to this server's user %lu", path,
                        (unsigned long)st.st_uid, (unsigned long)geteuid());
    if (st.st_mode & 077)
        return cerr_set(e, CERR_INVALID_STATE,
                        "key file %s has mode %04o; it must be readable by its owner only "
                        "(chmod 600 %s)",
                        path, (unsigned)(st.st_mode & 07777), path);
    if (st.st_size != (off_t)AUTH_KEY_LEN)
        return cerr_set(e, CERR_INVALID_STATE, "key file %s has %lld bytes; a key has %u", path,
                        (long long)st.st_size, AUTH_KEY_LEN);
    size_t got = 0;
    while (got < AUTH_KEY_LEN) {
        ssize_t n = read(fd, key + got, AUTH_KEY_LEN - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            OPENSSL_cleanse(key, AUTH_KEY_LEN);
            return cerr_set(e, CERR_INVALID_STATE, "key file %s: %s", path,
                            n < 0 ? strerror(errno) : "shorter than its size");
        }
        got += (size_t)n;
    }
    return 0;
}

static int auth_key_read(const char *path, uint8_t key[AUTH_KEY_LEN], cerr *e)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -1; /* errno tells the caller */
    int rc = auth_key_read_fd(fd, path, key, e);
    close(fd);
    if (rc < 0)
        errno = 0;
    return rc;
}

/* fsync the folder holding path, so that the new name is durable. */
static void auth_key_sync_dir(const char *path)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == NULL)
        snprintf(dir, sizeof dir, ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

static int auth_key_write_all(int fd, const uint8_t *data, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, data, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        data += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Creates the key at path; 1 if another process created it first. */
static int auth_key_create(const char *path, uint8_t key[AUTH_KEY_LEN], cerr *e)
{
    char tmp[PATH_MAX];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", path) >= sizeof tmp)
        return cerr_set(e, CERR_INVALID_STATE, "key file path is too long");
    if (RAND_bytes(key, AUTH_KEY_LEN) != 1)
        return cerr_set(e, CERR_INTERNAL_ERROR, "no random bytes for the signing key");
    int fd = mkostemp(tmp, O_CLOEXEC); /* O_CREAT|O_EXCL, mode 0600 */
    if (fd < 0) {
        OPENSSL_cleanse(key, AUTH_KEY_LEN);
        return cerr_set(e, CERR_INVALID_STATE, "cannot create key file %s: %s", path,
                        strerror(errno));
    }
    int rc = fchmod(fd, 0600) == 0 && auth_key_write_all(fd, key, AUTH_KEY_LEN) == 0 &&
                     fsync(fd) == 0
                 ? 0
                 : -1;
    int err = errno;
    if (close(fd) < 0 && rc == 0) {
        rc = -1;
        err = errno;
    }
    if (rc == 0 && link(tmp, path) < 0) {
        rc = errno == EEXIST ? 1 : -1;
        err = errno;
    }
    unlink(tmp);
    if (rc != 0) {
        OPENSSL_cleanse(key, AUTH_KEY_LEN);
        if (rc < 0)
            return cerr_set(e, CERR_INVALID_STATE, "cannot write key file %s: %s", path,
                            strerror(err));
        return 1;
    }
    auth_key_sync_dir(path);
    return 0;
}

int auth_key_load_or_create(const char *path, uint8_t key[AUTH_KEY_LEN], bool *created, cerr *e)
{
    if (created)
        *created = false;
    if (path == NULL || path[0] == '\0')
        return cerr_set(e, CERR_INVALID_STATE, "no key file path");
    for (int attempt = 0; attempt < 2; attempt++) {
        errno = 0;
        if (auth_key_read(path, key, e) == 0)
            return 0;
        if (errno == 0)
            return -1; /* the file is there and was refused: e says why */
        if (errno != ENOENT)
            return cerr_set(e, CERR_INVALID_STATE, "cannot open key file %s: %s", path,
                            errno == ELOOP ? "it is a symbolic link" : strerror(errno));
        int rc = auth_key_create(path, key, e);
        if (rc < 0)
            return -1;
        if (rc == 0) {
            if (created)
                *created = true;
            return 0;
        }
        /* rc 1: created meanwhile by another process; read theirs */
    }
    return cerr_set(e, CERR_INVALID_STATE, "key file %s vanished while being created", path);
}
