/* lib/conf.h: a small YAML document tree (libyaml) with typed, path-named lookups.
 * Errors name the key path and the problem, e.g.
 *   "mediator.yaml: leas[0].hi3: expected host:port, got \"127.0.0.1\"". */
#ifndef LAWTAP_CONF_H
#define LAWTAP_CONF_H

#include <stddef.h>
#include <stdint.h>

/* Limits of lt_conf_load_*: input size, nesting of mappings/sequences, total nodes. */
#define LT_CONF_MAX_BYTES (1 << 20)
#define LT_CONF_MAX_DEPTH 32
#define LT_CONF_MAX_NODES 100000

enum lt_conf_kind { LT_CONF_SCALAR, LT_CONF_MAP, LT_CONF_SEQ };

struct lt_conf_node; /* opaque */

/* Loads a YAML file (or a memory buffer) into a tree. NULL on failure, with the reason
 * (file name, line, column, libyaml's message, or "<file>:<line>: <path>: <problem>") in err.
 * Anchors/aliases, explicit tags, non-scalar and duplicate keys, NUL characters, empty streams
 * and multi-document streams are refused. Depth, node count and size are bounded (above).
 * Not thread-safe per tree (lt_conf_path caches); separate trees are independent. */
struct lt_conf_node *lt_conf_load_file(const char *path, char *err, size_t errlen);
struct lt_conf_node *lt_conf_load_mem(const char *name, const void *buf, size_t len, char *err,
                                      size_t errlen);
void lt_conf_free(struct lt_conf_node *root); /* accepts NULL */

enum lt_conf_kind lt_conf_kind(const struct lt_conf_node *n);
/* Map member lookup; NULL when absent or when n is not a map. */
const struct lt_conf_node *lt_conf_get(const struct lt_conf_node *map, const char *key);
/* Sequence length / element (NULL out of range). A scalar counts as not a sequence (0). */
size_t lt_conf_len(const struct lt_conf_node *seq);
const struct lt_conf_node *lt_conf_at(const struct lt_conf_node *seq, size_t i);
/* Map iteration: i-th key / value (NULL out of range). */
const char *lt_conf_key_at(const struct lt_conf_node *map, size_t i);
const struct lt_conf_node *lt_conf_value_at(const struct lt_conf_node *map, size_t i);
/* Scalar text (NULL if not a scalar). */
const char *lt_conf_str(const struct lt_conf_node *n);
/* The path of a node for messages, e.g. "leas[0].hi3" ("" for the root; built on first use and
 * kept with the node), and its line (1-based). */
const char *lt_conf_path(const struct lt_conf_node *n);
int lt_conf_line(const struct lt_conf_node *n);
/* The document name given at load (file path). */
const char *lt_conf_doc_name(const struct lt_conf_node *n);

/* Typed getters on map members. Each returns 0 on success; -1 with a message in err naming
 * "<file>:<line>: <path>.<key>: <problem>" when the key is missing (required), has the wrong
 * form, or map is not a mapping. An empty scalar ("key:") is refused ("empty value").
 * Optional variants return 1 when absent (out untouched). Integers: canonical decimal only. */
int lt_conf_req_str(const struct lt_conf_node *map, const char *key, const char **out, char *err,
                    size_t errlen);
int lt_conf_opt_str(const struct lt_conf_node *map, const char *key, const char **out, char *err,
                    size_t errlen);
int lt_conf_opt_int(const struct lt_conf_node *map, const char *key, int64_t min, int64_t max,
                    int64_t *out, char *err, size_t errlen);
/* Refuses keys of map not in the NULL-terminated allowed list (catches typos). */
int lt_conf_check_keys(const struct lt_conf_node *map, const char *const *allowed, char *err,
                       size_t errlen);

#endif
