/* Fuzz target for lib/tasking.c. The first byte picks the parser: even -> lt_task_parse_line,
 * odd -> lt_target_parse, on the rest of the input as a C string. Whatever parses must format
 * and parse back to the same value. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/tasking.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int same_target(const struct lt_target *a, const struct lt_target *b)
{
	return a->family == b->family && a->prefix == b->prefix &&
	       memcmp(a->addr, b->addr, a->family == 6 ? 16 : 4) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	if (size < 1 || size > LT_TASK_LINE_MAX + 2)
		return 0;
	char *s = malloc(size);
	if (!s)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';

	if ((data[0] & 1) == 0) {
		struct lt_task t, u;
		if (lt_task_parse_line(s, &t, err, sizeof err) == 0) {
			char *line = lt_task_format_line(&t);
			if (!line)
				abort();
			size_t n = strlen(line);
			if (n == 0 || line[n - 1] != '\n')
				abort();
			line[n - 1] = '\0';
			if (lt_task_parse_line(line, &u, err, sizeof err) != 0)
				abort();
			if (memcmp(t.xid, u.xid, 16) != 0 || t.cin != u.cin || t.mode != u.mode ||
			    t.start != u.start || t.end != u.end || t.ntargets != u.ntargets)
				abort();
			for (size_t i = 0; i < t.ntargets; i++)
				if (!same_target(&t.targets[i], &u.targets[i]))
					abort();
			free(line);
			lt_task_clear(&u);
		} else if (t.targets || t.ntargets || !err[0]) {
			abort();
		}
		lt_task_clear(&t);
	} else {
		struct lt_target t, u;
		if (lt_target_parse(s, &t, err, sizeof err) == 0) {
			char buf[64];
			lt_target_format(&t, buf, sizeof buf);
			if (lt_target_parse(buf, &u, err, sizeof err) != 0 || !same_target(&t, &u))
				abort();
		}
	}
	free(s);
	return 0;
}
