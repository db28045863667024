/* lib/conf.c: YAML configuration tree (lib/conf.h) built from libyaml's event stream.
 * Bounded: input size, nesting depth and node count (LT_CONF_MAX_*). Refuses anchors, aliases,
 * explicit tags, non-scalar keys, duplicate keys and streams with more than one document. */
#include "conf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

struct lt_conf_node {
	enum lt_conf_kind kind;
	int line;
	const struct lt_conf_node *parent;
	size_t index;    /* position in the parent */
	const char *doc; /* owned by the root */
	char *str;       /* scalar text */
	char **keys;     /* map keys (n of them) */
	int *klines;     /* line of each key */
	struct lt_conf_node **kids;
	size_t n, cap;
	char *path; /* built on first lt_conf_path() */
};

__attribute__((format(printf, 3, 4))) static void seterr(char *err, size_t errlen, const char *fmt,
                                                         ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
}

static void node_free(struct lt_conf_node *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->n; i++) {
		node_free(n->kids[i]);
		if (n->keys)
			free(n->keys[i]);
	}
	free(n->kids);
	free(n->keys);
	free(n->klines);
	free(n->str);
	free(n->path);
	if (!n->parent)
		free((char *)n->doc);
	free(n);
}

void lt_conf_free(struct lt_conf_node *root)
{
	node_free(root);
}

/* Appends kid (and key, for maps) to parent. 0 or -1 (ENOMEM). */
static int add_kid(struct lt_conf_node *parent, char *key, int kline, struct lt_conf_node *kid)
{
	if (parent->n == parent->cap) {
		size_t cap = parent->cap ? parent->cap * 2 : 4;
		struct lt_conf_node **k = realloc(parent->kids, cap * sizeof *k);
		if (!k)
			return -1;
		parent->kids = k;
		if (parent->kind == LT_CONF_MAP) {
			char **ks = realloc(parent->keys, cap * sizeof *ks);
			if (!ks)
				return -1;
			parent->keys = ks;
			int *kl = realloc(parent->klines, cap * sizeof *kl);
			if (!kl)
				return -1;
			parent->klines = kl;
		}
		parent->cap = cap;
	}
	kid->parent = parent;
	kid->index = parent->n;
	kid->doc = parent->doc;
	parent->kids[parent->n] = kid;
	if (parent->kind == LT_CONF_MAP) {
		parent->keys[parent->n] = key;
		parent->klines[parent->n] = kline;
	}
	parent->n++;
	return 0;
}

struct builder {
	const char *name;
	struct lt_conf_node *root;
	struct lt_conf_node *stack[LT_CONF_MAX_DEPTH + 1];
	int depth;
	char *key; /* pending map key (owned) */
	int key_line;
	size_t nodes;
	char *err;
	size_t errlen;
};

/* Path of the place a new node would go, for messages during the load. */
static void where(struct builder *b, char *buf, size_t len)
{
	const struct lt_conf_node *top = b->depth ? b->stack[b->depth - 1] : NULL;
	const char *pp = top ? lt_conf_path(top) : "";
	if (!top)
		snprintf(buf, len, "(root)");
	else if (top->kind == LT_CONF_MAP)
		snprintf(buf, len, "%s%s%s", pp, *pp ? "." : "", b->key ? b->key : "(key)");
	else
		snprintf(buf, len, "%s[%zu]", pp, top->n);
}

static int bfail(struct builder *b, int line, const char *problem)
{
	char w[256];
	where(b, w, sizeof w);
	seterr(b->err, b->errlen, "%s:%d: %s: %s", b->name, line, w, problem);
	return -1;
}

/* Places a new node (scalar or container start) at the current position. */
static int place(struct builder *b, const yaml_event_t *ev, struct lt_conf_node **out)
{
	int line = (int)ev->start_mark.line + 1;
	const yaml_char_t *anchor = NULL, *tag = NULL;
	struct lt_conf_node *top = b->depth ? b->stack[b->depth - 1] : NULL;
	enum lt_conf_kind kind = LT_CONF_SCALAR;

	if (ev->type == YAML_SCALAR_EVENT) {
		anchor = ev->data.scalar.anchor;
		tag = ev->data.scalar.tag;
	} else if (ev->type == YAML_MAPPING_START_EVENT) {
		anchor = ev->data.mapping_start.anchor;
		tag = ev->data.mapping_start.tag;
		kind = LT_CONF_MAP;
	} else {
		anchor = ev->data.sequence_start.anchor;
		tag = ev->data.sequence_start.tag;
		kind = LT_CONF_SEQ;
	}
	if (anchor)
		return bfail(b, line, "anchors and aliases are not supported");
	if (tag)
		return bfail(b, line, "explicit tags are not supported");
	if (b->root && !top)
		return bfail(b, line, "more than one root node");
	/* A "\0" escape would silently cut the C string short. */
	if (kind == LT_CONF_SCALAR && memchr(ev->data.scalar.value, 0, ev->data.scalar.length))
		return bfail(b, line, "NUL character in a scalar");

	/* A map expecting a key gets a scalar key, not a node. */
	if (top && top->kind == LT_CONF_MAP && !b->key) {
		if (kind != LT_CONF_SCALAR)
			return bfail(b, line, "a key must be a plain scalar");
		const char *k = (const char *)ev->data.scalar.value;
		for (size_t i = 0; i < top->n; i++)
			if (strcmp(top->keys[i], k) == 0) {
				b->key = (char *)k; /* for the message only */
				bfail(b, line, "duplicate key");
				b->key = NULL;
				return -1;
			}
		if (!(b->key = strdup(k)))
			return bfail(b, line, "out of memory");
		b->key_line = line;
		*out = NULL;
		return 0;
	}

	if (++b->nodes > LT_CONF_MAX_NODES)
		return bfail(b, line, "too many nodes");
	if (kind != LT_CONF_SCALAR && b->depth >= LT_CONF_MAX_DEPTH)
		return bfail(b, line, "nesting too deep");
	struct lt_conf_node *n = calloc(1, sizeof *n);
	if (!n)
		return bfail(b, line, "out of memory");
	n->kind = kind;
	n->line = line;
	if (kind == LT_CONF_SCALAR) {
		n->str = strndup((const char *)ev->data.scalar.value, ev->data.scalar.length);
		if (!n->str) {
			free(n);
			return bfail(b, line, "out of memory");
		}
	}
	if (!top) {
		n->doc = strdup(b->name);
		if (!n->doc) {
			node_free(n);
			return bfail(b, line, "out of memory");
		}
		b->root = n;
	} else {
		if (add_kid(top, b->key, b->key_line, n) != 0) {
			node_free(n);
			return bfail(b, line, "out of memory");
		}
		b->key = NULL; /* now owned by top */
	}
	if (kind != LT_CONF_SCALAR)
		b->stack[b->depth++] = n;
	*out = n;
	return 0;
}

static struct lt_conf_node *build(yaml_parser_t *p, const char *name, char *err, size_t errlen)
{
	struct builder b;
	yaml_event_t ev;
	int docs = 0, done = 0, rc = 0;

	memset(&b, 0, sizeof b);
	b.name = name;
	b.err = err;
	b.errlen = errlen;
	while (!done && rc == 0) {
		if (!yaml_parser_parse(p, &ev)) {
			seterr(err, errlen, "%s:%zu:%zu: %s%s%s", name, p->problem_mark.line + 1,
			       p->problem_mark.column + 1, p->problem ? p->problem : "YAML error",
			       p->context ? " " : "", p->context ? p->context : "");
			rc = -1;
			break;
		}
		int line = (int)ev.start_mark.line + 1;
		struct lt_conf_node *n;
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = 1;
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (++docs > 1)
				rc = bfail(&b, line, "more than one YAML document");
			break;
		case YAML_ALIAS_EVENT:
			rc = bfail(&b, line, "anchors and aliases are not supported");
			break;
		case YAML_SCALAR_EVENT:
		case YAML_MAPPING_START_EVENT:
		case YAML_SEQUENCE_START_EVENT:
			rc = place(&b, &ev, &n);
			break;
		case YAML_MAPPING_END_EVENT:
		case YAML_SEQUENCE_END_EVENT:
			if (b.depth > 0)
				b.depth--;
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	free(b.key);
	if (rc == 0 && !b.root) {
		seterr(err, errlen, "%s:1: (root): empty configuration", name);
		rc = -1;
	}
	if (rc != 0) {
		node_free(b.root);
		return NULL;
	}
	return b.root;
}

struct lt_conf_node *lt_conf_load_mem(const char *name, const void *buf, size_t len, char *err,
                                      size_t errlen)
{
	yaml_parser_t p;
	if (!name)
		name = "(memory)";
	if (len > LT_CONF_MAX_BYTES) {
		seterr(err, errlen, "%s: larger than %d bytes", name, LT_CONF_MAX_BYTES);
		return NULL;
	}
	if (!yaml_parser_initialize(&p)) {
		seterr(err, errlen, "%s: out of memory", name);
		return NULL;
	}
	yaml_parser_set_input_string(
	    &p, buf ? (const unsigned char *)buf : (const unsigned char *)"", buf ? len : 0);
	struct lt_conf_node *root = build(&p, name, err, errlen);
	yaml_parser_delete(&p);
	return root;
}

struct lt_conf_node *lt_conf_load_file(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		seterr(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	char *buf = malloc(LT_CONF_MAX_BYTES + 1);
	if (!buf) {
		fclose(f);
		seterr(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	size_t len = fread(buf, 1, LT_CONF_MAX_BYTES + 1, f);
	int ioerr = ferror(f);
	fclose(f);
	if (ioerr) {
		free(buf);
		seterr(err, errlen, "%s: read error", path);
		return NULL;
	}
	struct lt_conf_node *root = lt_conf_load_mem(path, buf, len, err, errlen);
	free(buf);
	return root;
}

enum lt_conf_kind lt_conf_kind(const struct lt_conf_node *n)
{
	return n ? n->kind : LT_CONF_SCALAR;
}

const struct lt_conf_node *lt_conf_get(const struct lt_conf_node *map, const char *key)
{
	if (!map || map->kind != LT_CONF_MAP || !key)
		return NULL;
	for (size_t i = 0; i < map->n; i++)
		if (strcmp(map->keys[i], key) == 0)
			return map->kids[i];
	return NULL;
}

size_t lt_conf_len(const struct lt_conf_node *n)
{
	return n && n->kind != LT_CONF_SCALAR ? n->n : 0;
}

const struct lt_conf_node *lt_conf_at(const struct lt_conf_node *seq, size_t i)
{
	return seq && seq->kind == LT_CONF_SEQ && i < seq->n ? seq->kids[i] : NULL;
}

const char *lt_conf_key_at(const struct lt_conf_node *map, size_t i)
{
	return map && map->kind == LT_CONF_MAP && i < map->n ? map->keys[i] : NULL;
}

const struct lt_conf_node *lt_conf_value_at(const struct lt_conf_node *map, size_t i)
{
	return map && map->kind == LT_CONF_MAP && i < map->n ? map->kids[i] : NULL;
}

const char *lt_conf_str(const struct lt_conf_node *n)
{
	return n && n->kind == LT_CONF_SCALAR ? n->str : NULL;
}

const char *lt_conf_path(const struct lt_conf_node *n)
{
	if (!n)
		return "";
	if (!n->parent)
		return "";
	if (n->path)
		return n->path;
	const struct lt_conf_node *p = n->parent;
	const char *pp = lt_conf_path(p);
	char idx[24];
	const char *part = p->kind == LT_CONF_MAP ? p->keys[n->index] : idx;
	if (p->kind != LT_CONF_MAP)
		snprintf(idx, sizeof idx, "[%zu]", n->index);
	size_t len = strlen(pp) + 1 + strlen(part) + 1;
	char *s = malloc(len);
	if (!s)
		return "(out of memory)";
	snprintf(s, len, "%s%s%s", pp, *pp && p->kind == LT_CONF_MAP ? "." : "", part);
	/* The cache is not part of the node's observable state: a const node may fill it. */
	((struct lt_conf_node *)n)->path = s;
	return s;
}

int lt_conf_line(const struct lt_conf_node *n)
{
	return n ? n->line : 0;
}

const char *lt_conf_doc_name(const struct lt_conf_node *n)
{
	return n && n->doc ? n->doc : "";
}

/* "<file>:<line>: <path>.<key>: <problem>"; key names a member of map (present or not). */
__attribute__((format(printf, 6, 7))) static int merr(const struct lt_conf_node *map,
                                                      const char *key, int line, char *err,
                                                      size_t errlen, const char *fmt, ...)
{
	char problem[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(problem, sizeof problem, fmt, ap);
	va_end(ap);
	const char *pp = lt_conf_path(map);
	seterr(err, errlen, "%s:%d: %s%s%s: %s", lt_conf_doc_name(map), line, pp, *pp ? "." : "",
	       key, problem);
	return -1;
}

static int get_str(const struct lt_conf_node *map, const char *key, const char **out, int req,
                   char *err, size_t errlen)
{
	if (!map || map->kind != LT_CONF_MAP) {
		const char *pp = lt_conf_path(map);
		seterr(err, errlen, "%s:%d: %s: expected a mapping", lt_conf_doc_name(map),
		       lt_conf_line(map), *pp ? pp : "(root)");
		return -1;
	}
	const struct lt_conf_node *v = lt_conf_get(map, key);
	if (!v) {
		if (req)
			return merr(map, key, map->line, err, errlen, "missing");
		return 1;
	}
	if (v->kind != LT_CONF_SCALAR)
		return merr(map, key, v->line, err, errlen, "expected a string, got a %s",
		            v->kind == LT_CONF_MAP ? "mapping" : "sequence");
	if (!v->str[0])
		return merr(map, key, v->line, err, errlen, "empty value");
	*out = v->str;
	return 0;
}

int lt_conf_req_str(const struct lt_conf_node *map, const char *key, const char **out, char *err,
                    size_t errlen)
{
	return get_str(map, key, out, 1, err, errlen);
}

int lt_conf_opt_str(const struct lt_conf_node *map, const char *key, const char **out, char *err,
                    size_t errlen)
{
	return get_str(map, key, out, 0, err, errlen);
}

int lt_conf_opt_int(const struct lt_conf_node *map, const char *key, int64_t min, int64_t max,
                    int64_t *out, char *err, size_t errlen)
{
	const char *s;
	int rc = get_str(map, key, &s, 0, err, errlen);
	if (rc != 0)
		return rc;
	const struct lt_conf_node *v = lt_conf_get(map, key);
	/* Canonical decimal only: optional '-', digits, no leading '+', spaces, hex or octal. */
	const char *d = s[0] == '-' ? s + 1 : s;
	int ok = d[0] != '\0' && strlen(d) <= 19 && !(d[0] == '0' && d[1] != '\0');
	for (const char *c = d; ok && *c; c++)
		ok = *c >= '0' && *c <= '9';
	long long x = 0;
	if (ok) {
		errno = 0;
		char *e;
		x = strtoll(s, &e, 10);
		ok = errno == 0 && *e == '\0' && !(x == 0 && s[0] == '-');
	}
	if (!ok || x < min || x > max)
		return merr(map, key, v->line, err, errlen,
		            "expected an integer in %lld..%lld, got \"%.40s\"", (long long)min,
		            (long long)max, s);
	*out = x;
	return 0;
}

int lt_conf_check_keys(const struct lt_conf_node *map, const char *const *allowed, char *err,
                       size_t errlen)
{
	if (!map || map->kind != LT_CONF_MAP) {
		const char *pp = lt_conf_path(map);
		seterr(err, errlen, "%s:%d: %s: expected a mapping", lt_conf_doc_name(map),
		       lt_conf_line(map), *pp ? pp : "(root)");
		return -1;
	}
	for (size_t i = 0; i < map->n; i++) {
		size_t j = 0;
		while (allowed && allowed[j] && strcmp(allowed[j], map->keys[i]) != 0)
			j++;
		if (!allowed || !allowed[j])
			return merr(map, map->keys[i], map->klines[i], err, errlen, "unknown key");
	}
	return 0;
}
