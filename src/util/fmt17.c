/* fmt17.c - a double as "%.17g" prints it, exactly and about five times
 * faster than printf, for nearly every value a metric takes. Shared by
 * the server (streamed metric history) and libcairn (log-batch bodies),
 * where formatting doubles is a third of the work. Tested against glibc in
 * tests/client/test_client_format.c. */
#include "fmt17.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

/* The 17 significant digits of a = m * 2^-shift (m < 2^53, shift <= 112),
 * rounded half-to-even on the exact remainder as glibc rounds, into dig;
 * returns the decimal exponent of dig[0] (a = 0.d0d1... * 10^(exp+1)).
 * The integer part is m >> shift; the fraction's digits come out exactly
 * by multiplying the remainder by 10 (it stays below 2^116). */
static int fmt_digits(uint64_t m, int shift, char dig[17])
{
    unsigned __int128 mask = shift ? (((unsigned __int128)1 << shift) - 1) : 0;
    unsigned __int128 frac = (unsigned __int128)m & mask;
    uint64_t ip = (uint64_t)((unsigned __int128)m >> shift);
    int nd = 0, point = 0;
    if (ip) {
        char tmp[24];
        int ni = 0;
        for (uint64_t t = ip; t; t /= 10)
            tmp[ni++] = (char)('0' + t % 10);
        while (ni && nd < 17)
            dig[nd++] = tmp[--ni];
        point = nd + ni; /* ip < 2^53 has at most 16 digits: ni is 0 here */
    }
    while (nd < 17) {
        frac *= 10;
        int d = (int)(frac >> shift);
        frac &= mask;
        if (nd == 0 && d == 0) {
            point--;
            continue;
        }
        dig[nd++] = (char)('0' + d);
    }
    if (shift) {
        unsigned __int128 half = (unsigned __int128)1 << (shift - 1);
        if (frac > half || (frac == half && ((dig[16] - '0') & 1))) {
            int i = 16;
            while (i >= 0 && dig[i] == '9')
                dig[i--] = '0';
            if (i >= 0) {
                dig[i]++;
            } else { /* 99...9 rounded up to 100...0 */
                memmove(dig + 1, dig, 16);
                dig[0] = '1';
                point++;
            }
        }
    }
    return point - 1;
}

/* What "%.17g" prints, computed exactly with integer arithmetic, for
 * 2^-60 <= |v| < 2^53 (every metric value short of the extremes); -1
 * outside it. %.17g writes d.ddd...e-XX when the exponent is below -4,
 * plain decimals otherwise (never an exponent above: 2^53 has 16 digits),
 * and drops trailing zeros in both. About 5x faster than snprintf. */
int fmt_double17(double v, char out[32])
{
    double a = fabs(v);
    if (!(a >= 0x1p-60 && a < 9007199254740992.0))
        return -1;
    int e;
    double fr = frexp(a, &e);
    uint64_t m = (uint64_t)ldexp(fr, 53);
    e -= 53;
    if (e > 0 || e < -112)
        return -1;
    char dig[17];
    int x = fmt_digits(m, -e, dig), point = x + 1;
    char *w = out;
    if (v < 0)
        *w++ = '-';
    if (x < -4) {
        int last = 16;
        while (last > 0 && dig[last] == '0')
            last--;
        *w++ = dig[0];
        if (last > 0) {
            *w++ = '.';
            memcpy(w, dig + 1, (size_t)last);
            w += last;
        }
        *w++ = 'e';
        *w++ = '-';
        *w++ = (char)('0' + (-x) / 10);
        *w++ = (char)('0' + (-x) % 10);
    } else {
        int last = 16; /* drop trailing zeros of the fraction */
        while (last >= 0 && last >= point && dig[last] == '0')
            last--;
        if (point <= 0) {
            *w++ = '0';
            *w++ = '.';
            for (int i = point; i < 0; i++)
                *w++ = '0';
            for (int i = 0; i <= last; i++)
                *w++ = dig[i];
        } else {
            for (int i = 0; i < point; i++)
                *w++ = i < 17 ? dig[i] : '0';
            if (last >= point) {
                *w++ = '.';
                for (int i = point; i <= last; i++)
                    *w++ = dig[i];
            }
        }
    }
    *w = '\0';
    return (int)(w - out);
}
