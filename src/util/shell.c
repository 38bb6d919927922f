/* shell.c - POSIX shell quoting (see shell.h). */
#include "shell.h"

#include <string.h>

/* The characters shlex.quote leaves bare: none of them means anything to sh. */
static int shell_safe(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return 1;
    return c != '\0' && strchr("@%+=:,./_-", c) != NULL;
}

void shell_quote(sbuf *out, const char *s)
{
    size_t n = strlen(s);
    size_t i = 0;
    while (i < n && shell_safe((unsigned char)s[i]))
        i++;
    if (n > 0 && i == n) {
        sbuf_append(out, s, n);
        return;
    }
    sbuf_putc(out, '\'');
    for (i = 0; i < n; i++) {
        if (s[i] == '\'')
            sbuf_puts(out, "'\"'\"'");
        else
            sbuf_putc(out, s[i]);
    }
    sbuf_putc(out, '\'');
}
