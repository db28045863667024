/* Fuzz target: the REST request-body path (mediation/json_val.c): bytes -> JSON object ->
 * warrant or LEA (create and patch) -> store-independent checks -> JSON view. The first byte
 * picks the path so one corpus covers all four. */
#include "mediation/store.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	int which = data[0] & 3;
	json_t *j = NULL;
	struct med_jerr e;
	memset(&e, 0, sizeof e);
	if (med_json_parse_body(data + 1, size - 1, &j, &e) != 0)
		return 0;
	if (which < 2) {
		struct med_wdef w;
		memset(&w, 0, sizeof w);
		if (which == 1) { /* a patch on a valid warrant */
			json_t *base =
			    json_loads("{\"liid\": \"L1\", \"country\": \"NL\", \"leas\": "
			               "[\"lea1\"], \"targets\": [\"10.0.0.1\"], "
			               "\"mode\": \"full\"}",
			               0, NULL);
			int rc = base ? med_json_warrant(base, 0, &w, &e) : -1;
			json_decref(base);
			if (rc != 0) {
				med_wdef_clear(&w);
				json_decref(j);
				return 0;
			}
		}
		if (med_json_warrant(j, which, &w, &e) == 0 && med_wdef_check(&w, &e) == 0) {
			json_t *v = med_json_from_wdef(&w);
			char *s = v ? json_dumps(v, JSON_COMPACT) : NULL;
			free(s);
			json_decref(v);
		}
		med_wdef_clear(&w);
	} else {
		struct med_lea l;
		memset(&l, 0, sizeof l);
		if (which == 3) {
			json_t *base =
			    json_loads("{\"id\": \"lea1\", \"country\": \"NL\", \"hi2\": "
			               "\"127.0.0.1:1\", \"hi3\": \"127.0.0.1:2\"}",
			               0, NULL);
			int rc = base ? med_json_lea(base, 0, &l, &e) : -1;
			json_decref(base);
			if (rc != 0) {
				json_decref(j);
				return 0;
			}
		}
		if (med_json_lea(j, which == 3, &l, &e) == 0) {
			json_t *v = med_json_from_lea(&l);
			char *s = v ? json_dumps(v, JSON_COMPACT) : NULL;
			free(s);
			json_decref(v);
		}
	}
	json_decref(j);
	return 0;
}
