/* mediation/codec/pspdu_time.c: GeneralizedTime text <-> seconds since 1970 (UTC), without
 * the C library's time zone machinery (no TZ, no locks, no allocation). */
#include <stdio.h>
#include <string.h>

#include "pspdu_int.h"

/* ---- civil time (proleptic Gregorian, after H. Hinnant's days_from_civil) ---- */

static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

#define GT_SEC_MAX INT64_C(253402300799) /* 9999-12-31T23:59:59Z */

int med_gt_format(int64_t sec, uint32_t usec, uint8_t out[24])
{
	if (sec < 0 || sec > GT_SEC_MAX || usec > 999999)
		return -1;
	int64_t days = sec / 86400, rem = sec % 86400, y;
	int m, d;
	civil_from_days(days, &y, &m, &d);
	char tmp[32];
	int n = snprintf(tmp, sizeof tmp, "%04d%02d%02d%02d%02d%02d", (int)y, m, d,
	                 (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60));
	if (n != 14)
		return -1;
	if (usec) {
		/* X.690 11.7 (DER): no trailing zeros in the fraction, no '.' without one. */
		n += snprintf(tmp + n, sizeof tmp - (size_t)n, ".%06u", (unsigned)usec);
		while (tmp[n - 1] == '0')
			n--;
	}
	tmp[n++] = 'Z';
	memcpy(out, tmp, (size_t)n);
	return n;
}

/* Reads n decimal digits at s[*pos]; -1 when they are not all digits or not all there. */
static int digits(const uint8_t *s, size_t len, size_t *pos, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (*pos >= len || s[*pos] < '0' || s[*pos] > '9')
			return -1;
		v = v * 10 + (s[(*pos)++] - '0');
	}
	return v;
}

int med_gt_parse(const uint8_t *s, size_t len, int64_t *sec, uint32_t *usec)
{
	size_t p = 0;
	if (len > 64)
		return -1;
	int y = digits(s, len, &p, 4), mo = digits(s, len, &p, 2), d = digits(s, len, &p, 2);
	int h = digits(s, len, &p, 2), mi = 0, se = 0;
	if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23)
		return -1;
	if (p < len && s[p] >= '0' && s[p] <= '9') {
		mi = digits(s, len, &p, 2);
		if (p < len && s[p] >= '0' && s[p] <= '9')
			se = digits(s, len, &p, 2);
		else
			se = -2; /* no seconds: a fraction would be of a minute */
	} else {
		mi = se = -2; /* no minutes: a fraction would be of an hour */
	}
	uint32_t frac = 0;
	if (p < len && (s[p] == '.' || s[p] == ',')) {
		if (se < 0) /* fractions of hours/minutes: not used on HI2/HI3 */
			return -1;
		p++;
		int nd = 0;
		uint32_t scale = 100000;
		while (p < len && s[p] >= '0' && s[p] <= '9') {
			if (nd < 6) {
				frac += (uint32_t)(s[p] - '0') * scale;
				scale /= 10;
			}
			nd++;
			p++;
		}
		if (nd == 0)
			return -1;
	}
	if (mi == -2)
		mi = 0;
	if (se == -2)
		se = 0;
	if (mi < 0 || mi > 59 || se < 0 || se > 60)
		return -1;
	int64_t off = 0;
	if (p < len && s[p] == 'Z') {
		p++;
	} else if (p < len && (s[p] == '+' || s[p] == '-')) {
		int sign = s[p++] == '-' ? -1 : 1;
		int oh = digits(s, len, &p, 2), om = 0;
		if (p < len)
			om = digits(s, len, &p, 2);
		if (oh < 0 || oh > 23 || om < 0 || om > 59)
			return -1;
		off = sign * (oh * 3600 + om * 60);
	}
	if (p != len)
		return -1;
	int64_t t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - off;
	if (t < 0)
		return -1;
	*sec = t;
	*usec = frac;
	return 0;
}
