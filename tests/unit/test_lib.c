/* Unit tests for lib/net.c and lib/timeutil.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/net.h"
#include "lib/timeutil.h"

static void test_hostport(void **state)
{
	char host[64], err[128];
	uint16_t port;
	assert_int_equal(
	    lt_parse_hostport("127.0.0.1:9000", host, sizeof host, &port, 0, err, sizeof err), 0);
	assert_string_equal(host, "127.0.0.1");
	assert_int_equal(port, 9000);
	assert_int_equal(
	    lt_parse_hostport("[::1]:443", host, sizeof host, &port, 0, err, sizeof err), 0);
	assert_string_equal(host, "::1");
	assert_int_equal(port, 443);
	assert_int_equal(
	    lt_parse_hostport("127.0.0.1", host, sizeof host, &port, 0, err, sizeof err), -1);
	assert_non_null(strstr(err, "host:port"));
	assert_int_equal(lt_parse_hostport("h:0", host, sizeof host, &port, 0, err, sizeof err),
	                 -1);
	assert_int_equal(lt_parse_hostport("h:0", host, sizeof host, &port, 1, err, sizeof err), 0);
	assert_int_equal(lt_parse_hostport("h:65536", host, sizeof host, &port, 0, err, sizeof err),
	                 -1);
	assert_int_equal(lt_parse_hostport("h:12x", host, sizeof host, &port, 0, err, sizeof err),
	                 -1);
	assert_int_equal(lt_parse_hostport("::1:80", host, sizeof host, &port, 0, err, sizeof err),
	                 -1);
	assert_int_equal(lt_parse_hostport("", host, sizeof host, &port, 0, err, sizeof err), -1);
}

static void test_listen_connect(void **state)
{
	char err[128];
	int l = lt_tcp_listen("127.0.0.1:0", err, sizeof err);
	assert_true(l >= 0);
	int port = lt_tcp_local_port(l);
	assert_true(port > 0);
	char hp[32];
	snprintf(hp, sizeof hp, "127.0.0.1:%d", port);
	int c = lt_tcp_connect(hp, 1000, err, sizeof err);
	assert_true(c >= 0);
	int a = lt_tcp_accept(l, 1000);
	assert_true(a >= 0);
	close(a);
	close(c);
	/* Nobody accepts on a closed port: a clear error, not a hang. */
	close(l);
	assert_int_equal(lt_tcp_connect(hp, 1000, err, sizeof err), -1);
	assert_non_null(strstr(err, "cannot connect"));
}

static void test_parse_utc(void **state)
{
	int64_t t;
	assert_int_equal(lt_parse_utc("1970-01-01T00:00:00Z", &t), 0);
	assert_int_equal(t, 0);
	assert_int_equal(lt_parse_utc("2026-11-27T05:40:00Z", &t), 0);
	assert_int_equal(t, 1795758000);
	assert_int_equal(lt_parse_utc("2024-02-29T23:59:59Z", &t), 0);
	assert_int_equal(t, 1709251199);
	assert_int_equal(lt_parse_utc("2023-02-29T00:00:00Z", &t), -1);
	assert_int_equal(lt_parse_utc("2026-11-27T05:40:00", &t), -1);
	assert_int_equal(lt_parse_utc("2026-11-27 05:40:00Z", &t), -1);
	assert_int_equal(lt_parse_utc("2026-13-01T00:00:00Z", &t), -1);
	assert_int_equal(lt_parse_utc("2026-11-27T24:00:00Z", &t), -1);
}

static void test_backoff(void **state)
{
	for (int attempt = 0; attempt < 40; attempt++) {
		int64_t b = lt_backoff_ms(attempt, 100, 30000);
		assert_true(b >= 0 && b <= 30000);
		if (attempt == 0)
			assert_true(b <= 100);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hostport),
	    cmocka_unit_test(test_listen_connect),
	    cmocka_unit_test(test_parse_utc),
	    cmocka_unit_test(test_backoff),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
