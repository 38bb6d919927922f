/* secret.c - reading a password for `cairn login` and `cairn users`: from
 * the terminal without echo, or one line of stdin when stdin is not a
 * terminal (a pipe, a here-string). Never from argv, where `ps` and the
 * shell's history would show it; the buffer is the caller's to wipe. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cmd.h"

/* One line of fd into buf (no newline), byte by byte so that nothing after
 * the line is consumed. Returns its length, or -1 at EOF before a byte. */
static int cmd_secret_line(int fd, char *buf, size_t cap)
{
    size_t n = 0;
    int got = 0;
    for (;;) {
        char ch;
        ssize_t r = read(fd, &ch, 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got = 1;
        if (ch == '\n')
            break;
        if (n + 1 < cap)
            buf[n++] = ch;
    }
    if (n > 0 && buf[n - 1] == '\r')
        n--;
    buf[n] = '\0';
    return got ? (int)n : -1;
}

int cmd_password_read(const char *prompt, int confirm, char *buf, size_t cap)
{
    if (!isatty(STDIN_FILENO)) {
        int n = cmd_secret_line(STDIN_FILENO, buf, cap);
        if (n <= 0) {
            fprintf(stderr, "cairn: no password on stdin (give it as one line, or run on a terminal)\n");
            return CLI_EXIT_FAIL;
        }
        return CLI_EXIT_OK;
    }
    struct termios old, quiet;
    if (tcgetattr(STDIN_FILENO, &old) < 0) {
        fprintf(stderr, "cairn: cannot read the terminal: %s\n", strerror(errno));
        return CLI_EXIT_FAIL;
    }
    quiet = old;
    quiet.c_lflag &= ~(tcflag_t)ECHO;
    quiet.c_lflag |= ECHONL;
    char again[1024];
    int rc = CLI_EXIT_OK;
    for (int round = 0; round < (confirm ? 2 : 1) && rc == CLI_EXIT_OK; round++) {
        fprintf(stderr, "%s", round == 0 ? prompt : "Again: ");
        fflush(stderr);
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
        int n = cmd_secret_line(STDIN_FILENO, round == 0 ? buf : again, round == 0 ? cap : sizeof again);
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
        if (n <= 0) {
            fprintf(stderr, "cairn: no password given\n");
            rc = CLI_EXIT_FAIL;
        } else if (round == 1 && strcmp(buf, again) != 0) {
            fprintf(stderr, "cairn: the passwords differ\n");
            rc = CLI_EXIT_FAIL;
        }
    }
    explicit_bzero(again, sizeof again);
    if (rc != CLI_EXIT_OK)
        explicit_bzero(buf, cap);
    return rc;
}
