/* SPDX-License-Identifier: MIT */
/* The network apps' protocol code on the host libc: httpd's request parser and response
 * heads, kv's store and line protocol. Their sockets are exercised in the lab. */
#include <stdlib.h>
#include <string.h>

#include <fc/errno.h>

#include "check.h"
#include "httpd/http.h"
#include "kv/proto.h"

static long parse(const char *text, struct http_request *req)
{
    return http_parse_request(text, strlen(text), 2048, req);
}

static void test_http_requests(void)
{
    struct http_request req;
    const char get[] = "GET /counter HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\n\r\n";
    long n = parse(get, &req);
    CHECK(n == (long)strlen("GET /counter HTTP/1.1\r\nHost: x\r\n\r\n"), "head length %ld", n);
    CHECK(strcmp(req.method, "GET") == 0 && strcmp(req.path, "/counter") == 0, "%s %s",
          req.method, req.path);
    CHECK(req.keep_alive == 1 && req.has_body == 0, "1.1 keeps alive by default");

    CHECK(parse("GET / HTTP/1.1\r\nConnection: Close\r\n\r\n", &req) > 0 && !req.keep_alive,
          "Connection: close, any case");
    CHECK(parse("GET / HTTP/1.0\r\n\r\n", &req) > 0 && !req.keep_alive, "1.0 closes");
    CHECK(parse("GET / HTTP/1.0\r\nconnection: keep-alive\r\n\r\n", &req) > 0 && req.keep_alive,
          "1.0 keep-alive when asked");
    CHECK(parse("GET / HTTP/1.1\n\n", &req) > 0, "bare newlines are accepted");
    CHECK(parse("POST /x HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc", &req) > 0 && req.has_body,
          "a body is noticed");

    CHECK(parse("GET / HTTP/1.1\r\nHost: x\r\n", &req) == 0, "incomplete head needs more");
    CHECK(parse("", &req) == 0, "nothing yet");
    const char *bad[] = {
        "\r\n\r\n", "GET\r\n\r\n", "GET / HTTP/2.0\r\n\r\n", "get / HTTP/1.1\r\n\r\n",
        "GET nopath HTTP/1.1\r\n\r\n", "GET / HTTP/1.1 extra\r\n\r\n", "GET  / HTTP/1.1\r\n\r\n",
        "TOOLONGMETHOD / HTTP/1.1\r\n\r\n", "GET /a\x01 HTTP/1.1\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CHECK(parse(bad[i], &req) == -FC_EINVAL, "malformed request %zu accepted", i);

    char big[300];
    memset(big, 'a', sizeof(big));
    memcpy(big, "GET /", 5);
    CHECK(http_parse_request(big, sizeof(big), sizeof(big), &req) == -FC_E2BIG,
          "a full buffer with no blank line is too big");
    char path[200] = "GET /";
    memset(path + 5, 'p', 150);
    strcpy(path + 155, " HTTP/1.1\r\n\r\n");
    CHECK(parse(path, &req) == -FC_EINVAL, "a path longer than HTTP_PATH_MAX is refused");
}

static void test_http_response(void)
{
    char out[256];
    long n = http_response_head(out, sizeof(out), 200, "text/plain", 5, 1);
    CHECK(n > 0 && (size_t)n == strlen(out), "length %ld", n);
    CHECK(strncmp(out, "HTTP/1.1 200 OK\r\n", 17) == 0, "status line: %s", out);
    CHECK(strstr(out, "Content-Length: 5\r\n") && strstr(out, "Connection: keep-alive\r\n"),
          "headers: %s", out);
    CHECK(n >= 4 && memcmp(out + n - 4, "\r\n\r\n", 4) == 0, "ends with a blank line");
    CHECK(http_response_head(out, sizeof(out), 404, "text/plain", 0, 0) > 0 &&
              strstr(out, "404 Not Found") && strstr(out, "Connection: close"),
          "404: %s", out);
    CHECK(http_response_head(out, 20, 200, "text/plain", 5, 1) == -FC_ENOSPC, "too small");
}

static const char *run(struct kv_store *store, const char *line, int *quit)
{
    static char out[KV_REPLY_MAX];
    size_t n = kv_execute(store, line, strlen(line), out, sizeof(out), quit);
    out[n] = '\0';
    return out;
}

static void test_kv(void)
{
    struct kv_store store;
    int quit;
    CHECK(kv_store_init(&store) == 0, "init");
    CHECK(strcmp(run(&store, "GET a", &quit), "NOT_FOUND\n") == 0, "empty store");
    CHECK(strcmp(run(&store, "SET a hello world", &quit), "OK\n") == 0, "set");
    CHECK(strcmp(run(&store, "GET a", &quit), "VALUE hello world\n") == 0, "value keeps spaces");
    CHECK(strcmp(run(&store, "SET a x", &quit), "OK\n") == 0, "replace");
    CHECK(strcmp(run(&store, "GET a", &quit), "VALUE x\n") == 0, "replaced");
    CHECK(strcmp(run(&store, "SET e ", &quit), "OK\n") == 0, "empty value");
    CHECK(strcmp(run(&store, "COUNT", &quit), "COUNT 2\n") == 0, "count");
    CHECK(strcmp(run(&store, "DEL a", &quit), "DELETED\n") == 0, "del");
    CHECK(strcmp(run(&store, "DEL a", &quit), "NOT_FOUND\n") == 0, "del again");
    CHECK(strcmp(run(&store, "PING", &quit), "PONG\n") == 0 && !quit, "ping");
    CHECK(strcmp(run(&store, "QUIT", &quit), "BYE\n") == 0 && quit, "quit");

    const char *errors[] = { "", "FLY a", "SET", "SET a", "GET", "GET a b", "GET \x01", "set a b",
                             "COUNT x" };
    for (size_t i = 0; i < sizeof(errors) / sizeof(errors[0]); i++)
        CHECK(strncmp(run(&store, errors[i], &quit), "ERROR ", 6) == 0, "[%s] accepted",
              errors[i]);
    char line[KV_LINE_MAX + 64] = "SET k ";
    memset(line + 6, 'v', KV_VALUE_MAX + 1);
    line[6 + KV_VALUE_MAX + 1] = '\0';
    CHECK(strcmp(run(&store, line, &quit), "ERROR value too long\n") == 0, "long value");
    line[6 + KV_VALUE_MAX] = '\0';
    CHECK(strcmp(run(&store, line, &quit), "OK\n") == 0, "the longest value fits");
    CHECK(strlen(run(&store, "GET k", &quit)) == KV_VALUE_MAX + 7, "and comes back whole");

    /* Growth keeps every key. */
    char cmd[64];
    for (int i = 0; i < 5000; i++) {
        snprintf(cmd, sizeof(cmd), "SET key%d %d", i, i * 7);
        run(&store, cmd, &quit);
    }
    int wrong = 0;
    for (int i = 0; i < 5000; i++) {
        char want[32];
        snprintf(cmd, sizeof(cmd), "GET key%d", i);
        snprintf(want, sizeof(want), "VALUE %d\n", i * 7);
        wrong += strcmp(run(&store, cmd, &quit), want) != 0;
    }
    CHECK(wrong == 0, "%d keys lost or wrong after growing", wrong);
    CHECK(store.nbuckets >= 4096, "the table grew (%zu buckets)", store.nbuckets);
    for (int i = 0; i < 5000; i++) {
        snprintf(cmd, sizeof(cmd), "DEL key%d", i);
        wrong += strcmp(run(&store, cmd, &quit), "DELETED\n") != 0;
    }
    run(&store, "DEL k", &quit);
    run(&store, "DEL e", &quit);
    CHECK(wrong == 0 && store.count == 0, "%d deletes failed, %zu keys left", wrong, store.count);
    free(store.buckets); /* every entry is gone, so this is all that is left */
}

int main(void)
{
    test_http_requests();
    test_http_response();
    test_kv();
    return check_summary();
}
