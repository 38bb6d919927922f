/* fmt17.h - exact "%.17g" for doubles in [2^-60, 2^53) (fmt17.c). */
#ifndef CAIRN_FMT17_H
#define CAIRN_FMT17_H

/* Writes what printf("%.17g", v) would (NUL-terminated) and returns its
 * length, for 2^-60 <= |v| < 2^53; returns -1 for anything else (including
 * NaN and infinities): use printf there. */
int fmt_double17(double v, char out[32]);

#endif
