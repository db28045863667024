/* Fuzz target for lib/conf.c: loads the input as YAML and walks the whole tree through every
 * accessor and typed getter (paths, lines, keys, strings, integers, key checks). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t sink;

static void walk(const struct lt_conf_node *n, int depth)
{
	char err[256];
	if (depth > LT_CONF_MAX_DEPTH + 1)
		abort(); /* the loader bounds depth */
	sink += strlen(lt_conf_path(n)) + (size_t)lt_conf_line(n) + strlen(lt_conf_doc_name(n));
	switch (lt_conf_kind(n)) {
	case LT_CONF_SCALAR:
		if (!lt_conf_str(n))
			abort();
		sink += strlen(lt_conf_str(n));
		break;
	case LT_CONF_SEQ:
		for (size_t i = 0; i < lt_conf_len(n); i++)
			walk(lt_conf_at(n, i), depth + 1);
		if (lt_conf_at(n, lt_conf_len(n)))
			abort();
		break;
	case LT_CONF_MAP: {
		static const char *const allowed[] = {"id", "hi2", "hi3", "mediator", NULL};
		(void)lt_conf_check_keys(n, allowed, err, sizeof err);
		for (size_t i = 0; i < lt_conf_len(n); i++) {
			const char *k = lt_conf_key_at(n, i);
			const struct lt_conf_node *v = lt_conf_value_at(n, i);
			const char *s;
			int64_t x;
			if (!k || !v || lt_conf_get(n, k) != v)
				abort(); /* keys are unique */
			(void)lt_conf_req_str(n, k, &s, err, sizeof err);
			(void)lt_conf_opt_str(n, k, &s, err, sizeof err);
			(void)lt_conf_opt_int(n, k, INT64_MIN, INT64_MAX, &x, err, sizeof err);
			(void)lt_conf_opt_int(n, k, -10, 10, &x, err, sizeof err);
			walk(v, depth + 1);
		}
		if (lt_conf_key_at(n, lt_conf_len(n)))
			abort();
		break;
	}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512];
	struct lt_conf_node *root = lt_conf_load_mem("fuzz.yaml", data, size, err, sizeof err);
	if (!root) {
		if (!err[0])
			abort();
		return 0;
	}
	walk(root, 0);
	lt_conf_free(root);
	return 0;
}
