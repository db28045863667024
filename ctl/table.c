/* ctl/table.c: human-readable tables of the API's answers. Columns are sized to their widest
 * cell; members the server adds later still show (status and IAP tables list every member
 * they find, in the order first seen). Nothing here talks to the network. */
#include "ctl.h"

#include <stdlib.h>
#include <string.h>

#define CELL_MAX 256
#define TARGETS_SHOWN 48 /* a long target set is cut in a table ("... +N more") */

void ctl_cell(const json_t *v, char *buf, size_t len)
{
	if (!len)
		return;
	buf[0] = 0;
	if (!v) { /* a member the server did not send */
		snprintf(buf, len, "-");
		return;
	}
	switch (json_typeof(v)) {
	case JSON_STRING:
		snprintf(buf, len, "%s", json_string_value(v));
		break;
	case JSON_INTEGER:
		snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		break;
	case JSON_REAL:
		snprintf(buf, len, "%.1f", json_real_value(v));
		break;
	case JSON_TRUE:
		snprintf(buf, len, "yes");
		break;
	case JSON_FALSE:
		snprintf(buf, len, "no");
		break;
	case JSON_ARRAY: {
		size_t i, o = 0;
		const json_t *e;
		json_array_foreach(v, i, e)
		{
			char one[CELL_MAX];
			ctl_cell(e, one, sizeof one);
			int n = snprintf(buf + o, len - o, "%s%s", i ? "," : "", one);
			if (n < 0 || (size_t)n >= len - o)
				break;
			o += (size_t)n;
		}
		if (i == 0)
			snprintf(buf, len, "-");
		break;
	}
	case JSON_OBJECT: {
		char *s = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
		snprintf(buf, len, "%s", s ? s : "?");
		free(s);
		break;
	}
	case JSON_NULL:
	default:
		snprintf(buf, len, "-");
		break;
	}
	if (!buf[0])
		snprintf(buf, len, "-");
}

/* A target list for a table: as many as fit in TARGETS_SHOWN characters, then "+N more". */
static void targets_cell(const json_t *arr, char *buf, size_t len)
{
	size_t i, o = 0, n = json_array_size(arr);
	const json_t *e;
	buf[0] = 0;
	json_array_foreach(arr, i, e)
	{
		const char *s = json_is_string(e) ? json_string_value(e) : "?";
		if (i && o + 1 + strlen(s) > TARGETS_SHOWN) {
			snprintf(buf + o, len - o, " +%zu more", n - i);
			return;
		}
		int w = snprintf(buf + o, len - o, "%s%s", i ? "," : "", s);
		if (w < 0 || (size_t)w >= len - o)
			return;
		o += (size_t)w;
	}
	if (!n)
		snprintf(buf, len, "-");
}

struct col {
	const char *head;
	const char *key; /* member of each row; NULL = computed by fn */
	void (*fn)(const json_t *row, char *buf, size_t len);
};

/* One cell padded to width w and two spaces; the last of a row ends the line unpadded. */
static void put_cell(FILE *f, const char *s, size_t w, int last)
{
	if (last)
		fprintf(f, "%s\n", s);
	else
		fprintf(f, "%-*s  ", (int)w, s);
}

/* Prints rows (an array of objects) under the columns; "(none)" when there is no row. */
static void print_rows(FILE *f, const json_t *rows, const struct col *cols, size_t ncols)
{
	size_t nrows = json_array_size(rows);
	if (!nrows) {
		fprintf(f, "(none)\n");
		return;
	}
	char(*cells)[CELL_MAX] = calloc(nrows * ncols, CELL_MAX);
	size_t *w = calloc(ncols, sizeof *w);
	if (!cells || !w) {
		free(cells);
		free(w);
		fprintf(f, "(out of memory)\n");
		return;
	}
	for (size_t c = 0; c < ncols; c++)
		w[c] = strlen(cols[c].head);
	for (size_t r = 0; r < nrows; r++) {
		const json_t *row = json_array_get(rows, r);
		for (size_t c = 0; c < ncols; c++) {
			char *cell = cells[r * ncols + c];
			if (cols[c].fn)
				cols[c].fn(row, cell, CELL_MAX);
			else
				ctl_cell(json_object_get(row, cols[c].key), cell, CELL_MAX);
			size_t l = strlen(cell);
			if (l > w[c])
				w[c] = l;
		}
	}
	for (size_t c = 0; c < ncols; c++)
		put_cell(f, cols[c].head, w[c], c + 1 == ncols);
	for (size_t r = 0; r < nrows; r++)
		for (size_t c = 0; c < ncols; c++)
			put_cell(f, cells[r * ncols + c], w[c], c + 1 == ncols);
	free(cells);
	free(w);
}

/* Columns for every member found in the rows, preferred ones first; headers are the member
 * names upper-cased with '_' as ' '. */
static void print_generic(FILE *f, const json_t *rows, const char *const *prefer)
{
	json_t *keys = json_array();
	for (const char *const *p = prefer; p && *p; p++) {
		size_t i;
		const json_t *row;
		json_array_foreach(rows, i, row)
		{
			if (json_object_get(row, *p)) {
				json_array_append_new(keys, json_string(*p));
				break;
			}
		}
	}
	size_t i;
	const json_t *row;
	json_array_foreach(rows, i, row)
	{
		const char *k;
		const json_t *v;
		json_object_foreach((json_t *)row, k, v)
		{
			size_t j;
			const json_t *have;
			int found = 0;
			json_array_foreach(keys, j, have)
			{
				if (!strcmp(json_string_value(have), k))
					found = 1;
			}
			if (!found)
				json_array_append_new(keys, json_string(k));
		}
	}
	size_t n = json_array_size(keys);
	struct col *cols = calloc(n ? n : 1, sizeof *cols);
	char(*heads)[64] = calloc(n ? n : 1, 64);
	if (!cols || !heads) {
		free(cols);
		free(heads);
		json_decref(keys);
		return;
	}
	for (size_t c = 0; c < n; c++) {
		const char *k = json_string_value(json_array_get(keys, c));
		size_t l;
		for (l = 0; k[l] && l < 63; l++)
			heads[c][l] =
			    k[l] == '_'
			        ? ' '
			        : (char)(k[l] >= 'a' && k[l] <= 'z' ? k[l] - 'a' + 'A' : k[l]);
		heads[c][l] = 0;
		cols[c].head = heads[c];
		cols[c].key = k;
	}
	print_rows(f, rows, cols, n);
	free(cols);
	free(heads);
	json_decref(keys);
}

static void lea_keepalive(const json_t *row, char *buf, size_t len)
{
	char a[32], b[32];
	ctl_cell(json_object_get(row, "keepalive_idle"), a, sizeof a);
	ctl_cell(json_object_get(row, "keepalive_timeout"), b, sizeof b);
	snprintf(buf, len, "%s/%s", a, b);
}

static void lea_tls(const json_t *row, char *buf, size_t len)
{
	const json_t *tls = json_object_get(row, "tls");
	const json_t *ca = json_object_get(tls, "ca");
	const json_t *pin = json_object_get(tls, "pin_sha256");
	if (json_is_string(pin) && json_is_string(ca)) /* both apply (docs/rest-api.md) */
		snprintf(buf, len, "ca %s + pin %.12s...", json_string_value(ca),
		         json_string_value(pin));
	else if (json_is_string(pin))
		snprintf(buf, len, "pin %.12s...", json_string_value(pin));
	else if (json_is_string(ca))
		snprintf(buf, len, "ca %s", json_string_value(ca));
	else
		snprintf(buf, len, "role");
}

/* "keepalive", "pdu-ack" ("pdu-ack/strict" with pdu_ack_strict 1), or "window/N"
 * (N = resend_window) */
static void lea_ack(const json_t *row, char *buf, size_t len)
{
	char m[32], n[32];
	ctl_cell(json_object_get(row, "ack_mode"), m, sizeof m);
	ctl_cell(json_object_get(row, "resend_window"), n, sizeof n);
	if (!strcmp(m, "window"))
		snprintf(buf, len, "%s/%s", m, n);
	else if (!strcmp(m, "pdu-ack") &&
	         json_integer_value(json_object_get(row, "pdu_ack_strict")) == 1)
		snprintf(buf, len, "%s/strict", m);
	else
		snprintf(buf, len, "%s", m);
}

void ctl_print_leas(FILE *f, const json_t *answer)
{
	static const struct col cols[] = {
	    {"ID", "id", NULL},
	    {"COUNTRY", "country", NULL},
	    {"HI2", "hi2", NULL},
	    {"HI3", "hi3", NULL},
	    {"TIMESTAMP", "timestamp", NULL},
	    {"KEEPALIVE", NULL, lea_keepalive},
	    {"ACK", NULL, lea_ack},
	    {"TLS", NULL, lea_tls},
	};
	print_rows(f, json_object_get(answer, "leas"), cols, sizeof cols / sizeof *cols);
}

static void warrant_ref(const json_t *row, char *buf, size_t len)
{
	char cc[8], liid[64];
	ctl_cell(json_object_get(row, "country"), cc, sizeof cc);
	ctl_cell(json_object_get(row, "liid"), liid, sizeof liid);
	snprintf(buf, len, "%s/%s", cc, liid);
}

static void warrant_targets(const json_t *row, char *buf, size_t len)
{
	targets_cell(json_object_get(row, "targets"), buf, len);
}

void ctl_print_warrants(FILE *f, const json_t *answer)
{
	static const struct col cols[] = {
	    {"WARRANT", NULL, warrant_ref},
	    {"STATE", "state", NULL},
	    {"MODE", "mode", NULL},
	    {"LEAS", "leas", NULL},
	    {"TARGETS", NULL, warrant_targets},
	    {"START", "start", NULL},
	    {"END", "end", NULL},
	    {"FILTER", "filter", NULL},
	};
	print_rows(f, json_object_get(answer, "warrants"), cols, sizeof cols / sizeof *cols);
}

void ctl_print_iaps(FILE *f, const json_t *answer)
{
	static const char *const prefer[] = {"id",
	                                     "connected",
	                                     "peer",
	                                     "task_version",
	                                     "acked_version",
	                                     "ack_latency_ms",
	                                     "x2x3_connected",
	                                     NULL};
	print_generic(f, json_object_get(answer, "iaps"), prefer);
}

void ctl_print_status(FILE *f, const json_t *answer)
{
	const json_t *med = json_object_get(answer, "mediator");
	fprintf(f, "mediator:\n");
	if (json_is_object(med) && json_object_size(med)) {
		const char *k;
		const json_t *v;
		json_object_foreach((json_t *)med, k, v)
		{
			char cell[CELL_MAX];
			ctl_cell(v, cell, sizeof cell);
			fprintf(f, "  %s: %s\n", k, cell);
		}
	} else {
		fprintf(f, "  -\n");
	}
	static const char *const ho_prefer[] = {"lea",       "hi",        "state", "queued",
	                                        "delivered", "confirmed", NULL};
	fprintf(f, "\nhandovers:\n");
	print_generic(f, json_object_get(answer, "handovers"), ho_prefer);
	fprintf(f, "\niaps:\n");
	ctl_print_iaps(f, answer);
}

void ctl_print_audit(FILE *f, const json_t *answer)
{
	static const struct col cols[] = {
	    {"SEQ", "seq", NULL},       {"TIME", "time", NULL},     {"WHO", "who", NULL},
	    {"ACTION", "action", NULL}, {"OBJECT", "object", NULL}, {"RESULT", "result", NULL},
	};
	print_rows(f, json_object_get(answer, "entries"), cols, sizeof cols / sizeof *cols);
}

void ctl_print_object(FILE *f, const json_t *obj)
{
	size_t w = 0;
	const char *k;
	const json_t *v;
	json_object_foreach((json_t *)obj, k, v)
	{
		if (strlen(k) > w)
			w = strlen(k);
	}
	json_object_foreach((json_t *)obj, k, v)
	{
		if (json_is_object(v) && json_object_size(v)) {
			/* one level of nesting (an LEA's tls): "tls.ca" */
			const char *k2;
			const json_t *v2;
			json_object_foreach((json_t *)v, k2, v2)
			{
				char cell[CELL_MAX], name[128];
				ctl_cell(v2, cell, sizeof cell);
				snprintf(name, sizeof name, "%s.%s:", k, k2);
				fprintf(f, "%-*s %s\n", (int)w + 1, name, cell);
			}
			continue;
		}
		if (json_is_array(v) && json_array_size(v) > 8) {
			/* a long list (targets): one per line */
			size_t i;
			const json_t *e;
			fprintf(f, "%s:%*s (%zu)\n", k, (int)(w - strlen(k)), "",
			        json_array_size(v));
			json_array_foreach(v, i, e)
			{
				char cell[CELL_MAX];
				ctl_cell(e, cell, sizeof cell);
				fprintf(f, "  %s\n", cell);
			}
			continue;
		}
		char cell[CELL_MAX * 4];
		ctl_cell(v, cell, sizeof cell);
		fprintf(f, "%s:%*s %s\n", k, (int)(w - strlen(k)), "", cell);
	}
}

int ctl_print_verify(FILE *f, const json_t *answer)
{
	const json_t *ok = json_object_get(answer, "ok");
	const json_t *n = json_object_get(answer, "entries");
	if (json_is_true(ok)) {
		fprintf(f, "audit trail ok: %" JSON_INTEGER_FORMAT " entries verified\n",
		        json_integer_value(n));
		return 0;
	}
	const json_t *e = json_object_get(answer, "error");
	const json_t *entry = json_object_get(answer, "entry");
	if (json_is_string(e))
		fprintf(f, "audit trail FAILED: %s\n", json_string_value(e));
	else if (json_is_integer(entry))
		fprintf(f, "audit trail FAILED at entry %" JSON_INTEGER_FORMAT "\n",
		        json_integer_value(entry));
	else
		fprintf(f, "audit trail FAILED (the server gave no reason)\n");
	return -1;
}

void ctl_error_text(long status, const char *body, char *out, size_t outlen)
{
	json_error_t je;
	json_t *j = body && *body ? json_loads(body, 0, &je) : NULL;
	const json_t *e = json_object_get(j, "error");
	const json_t *field = json_object_get(j, "field");
	if (json_is_string(e)) {
		if (json_is_string(field))
			snprintf(out, outlen, "%ld: %s (field %s)", status, json_string_value(e),
			         json_string_value(field));
		else
			snprintf(out, outlen, "%ld: %s", status, json_string_value(e));
	} else {
		size_t n = 0;
		if (body)
			while (body[n] && body[n] != '\n' && body[n] != '\r' && n < 200)
				n++;
		if (n)
			snprintf(out, outlen, "%ld: %.*s", status, (int)n, body);
		else
			snprintf(out, outlen, "%ld: (no error message from the server)", status);
	}
	json_decref(j);
}
