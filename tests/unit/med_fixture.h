/* tests/unit/med_fixture.h: a real mediator context in a temporary directory, for the unit tests
 * of the record path (test_dedup.c, test_dedup_lea.c): a PKI from certs/mkpki, a
 * mediator.yaml whose mediator section holds the keys every such test needs plus the caller's
 * (extra, e.g. "  fsync: always\n") and whose other sections are the caller's (rest: leas and
 * warrants), the configuration loaded and med_new called. Its handovers are never started. */
#ifndef LAWTAP_TEST_MED_FIXTURE_H
#define LAWTAP_TEST_MED_FIXTURE_H

#include "mediation/med_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The source tree: LAWTAP_SOURCE_DIR (ctest sets it), else the tree this file is in. */
static const char *fixture_source_dir(char *buf, size_t len)
{
	const char *s = getenv("LAWTAP_SOURCE_DIR");
	if (s && *s)
		return s;
	snprintf(buf, len, "%s", __FILE__);
	char *cut = strstr(buf, "/tests/unit/");
	if (!cut)
		return ".";
	*cut = '\0';
	return buf;
}

/* Makes dir (a mkdtemp template) with pki/, mediator.yaml and state/ (the state_dir), loads the
 * configuration into *cfg and makes *m. 0, or -1 with the reason on stderr (tag names the
 * test). */
static int med_fixture_new(const char *tag, char *dir, const char *extra, const char *rest,
                           struct med_config *cfg, struct med_ctx **m)
{
	if (!mkdtemp(dir))
		return -1;
	char src[1024], cmd[4096], path[1200];
	snprintf(cmd, sizeof cmd, "'%s/certs/mkpki' '%s/pki' >'%s/mkpki.out' 2>&1",
	         fixture_source_dir(src, sizeof src), dir, dir);
	if (system(cmd) != 0) {
		fprintf(stderr, "%s: %s failed (see %s/mkpki.out)\n", tag, cmd, dir);
		return -1;
	}
	snprintf(path, sizeof path, "%s/mediator.yaml", dir);
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	fprintf(
	    f,
	    "mediator:\n"
	    "  x2x3_listen: 127.0.0.1:0\n"
	    "  tasking_listen: 127.0.0.1:0\n"
	    "  operator_id: lawtap-op\n"
	    "  network_element_id: med1\n"
	    "  state_dir: %s/state\n"
	    "%s"
	    "  tls: { ca: %s/pki/ca.pem, cert: %s/pki/mediator.pem, key: %s/pki/mediator.key }\n"
	    "%s",
	    dir, extra, dir, dir, dir, rest);
	fclose(f);
	char err[512];
	if (med_config_load_file(path, cfg, err, sizeof err) != 0) {
		fprintf(stderr, "%s: %s\n", tag, err);
		return -1;
	}
	*m = med_new(cfg, NULL, err, sizeof err);
	if (!*m) {
		fprintf(stderr, "%s: %s\n", tag, err);
		return -1;
	}
	return 0;
}

#endif
